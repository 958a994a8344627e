"""Site-wide middleware: a Content-Security-Policy header on every response, and domain
errors answered as the pages' own.

The CSP:

Django 5.2 has no CSP support of its own. The policy lives in ``settings.CONTENT_SECURITY_POLICY``;
a view that needs another one sets the header itself and this leaves it alone.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse

from crm.errors import NotFound


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy
        return response


class DomainErrorsMiddleware:
    """The site's pages answer a domain ``NotFound`` (``crm.errors``) as Django's 404 page.

    The API has its own exception handler (``crm.exceptions``) and never gets here with one.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        if isinstance(exception, NotFound):
            raise Http404(str(exception)) from exception
