"""The home page: where a signed-in person lands, with their pipeline at a glance."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leads import selectors


@login_required
def home(request: HttpRequest) -> HttpResponse:
    stats = selectors.lead_stats(user=request.user, filters=selectors.LeadFilters())
    return render(request, "home.html", {"stats": stats})
