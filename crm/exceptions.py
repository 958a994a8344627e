"""One exception handler for the API: DRF's bodies, plus the cases DRF leaves to Django."""

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from crm.errors import NotFound

NOT_FOUND = {"detail": "Not found."}


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        # A rule the services enforce (uniqueness, a normalised value): the same 400 body
        # as a serializer's, keyed by field when the error names one.
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        )
    if isinstance(exc, Http404 | NotFound):
        # Byte for byte the same body for a missing id and for another user's object.
        return Response(NOT_FOUND, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, RequestDataTooBig):
        # Django refuses the body before anything parses it; left to Django this would be a
        # bare HTML "Bad Request" page.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return Response(
            {"detail": f"The request body is too large: the limit is {limit} bytes."},
            status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        )
    if isinstance(exc, IntegrityError):
        # A race lost against a constraint the serializer had already checked.
        return Response(
            {"detail": "The change conflicts with data saved at the same moment; try again."},
            status=status.HTTP_409_CONFLICT,
        )
    return exception_handler(exc, context)
