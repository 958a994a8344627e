"""Where a page may send a person back to after a form: only this site, never elsewhere."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next(request: HttpRequest, fallback: str) -> str:
    """The form's ``next`` (POST, else GET) when it points into this site; else ``fallback``.

    Django's own check, which knows the browser tricks (``//evil.com``, ``/\\evil.com``,
    ``https:evil.com``, control characters) that a ``startswith("/")`` test lets through.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback
