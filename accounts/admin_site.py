"""The Django admin's site, with its sign-in throttled like the web sign-in page."""

from __future__ import annotations

from django.contrib import admin
from django.template.response import TemplateResponse

from accounts.login_throttle import ThrottledAdminAuthenticationForm, mark_throttled


class CrmAdminSite(admin.AdminSite):
    login_form = ThrottledAdminAuthenticationForm

    def login(self, request, extra_context=None):
        response = super().login(request, extra_context)
        if isinstance(response, TemplateResponse) and response.context_data:
            mark_throttled(response, response.context_data.get("form"))
        return response
