"""The request a page sees behind django-htmx's middleware, for type checking."""

from __future__ import annotations

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    """``request.htmx`` tells an htmx request (and what it targets) from a plain one."""

    htmx: HtmxDetails
