from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.defaultfilters import filesizeformat
from django.views.decorators.http import require_GET

from crm.exceptions import NOT_FOUND
from crm.renderers import FastJSONRenderer


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/v1/")


def _json(data: dict, status: int) -> HttpResponse:
    # Same bytes as the API's own renderer, so every 404 body is identical.
    return HttpResponse(
        FastJSONRenderer().render(data), status=status, content_type="application/json"
    )


def not_found(request: HttpRequest, exception=None) -> HttpResponse:
    if _is_api(request):
        return _json(NOT_FOUND, 404)
    return render(request, "404.html", status=404)


def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    """Requests Django refuses as it reads them: a form body over DATA_UPLOAD_MAX_MEMORY_SIZE,
    too many fields, a malformed request. Left to Django, a bare "Bad Request (400)"."""
    if isinstance(exception, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        status = 413
        message = (
            f"The request is too large: a form may send at most {filesizeformat(limit)} "
            "besides the files it uploads."
        )
    elif isinstance(exception, TooManyFieldsSent):
        status = 400
        message = "The request has too many fields."
    else:
        status = 400
        message = "The request could not be understood."
    if _is_api(request):
        return _json({"detail": message}, status)
    return render(request, "400.html", {"message": message}, status=status)


def server_error(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return _json({"detail": "Server error."}, 500)
    return render(request, "500.html", status=500)


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
