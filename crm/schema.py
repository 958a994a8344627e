"""OpenAPI descriptions for the pieces drf-spectacular cannot infer, shared by every app.

What only one app's API has (its own serializer fields and bodies) is described in that app's
``schema`` module, which its ``api`` module imports.
"""

import copy
import threading
from typing import Any, ClassVar

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.response import Response


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (create one with manage.py createapitoken).",
        }


def document_paths_without_trailing_slash(endpoints):
    """Both forms answer; the schema lists the plain one (``/v1/leads``, not ``/v1/leads/``)."""
    return [
        (path.rstrip("/") if path != "/" else path, regex, method, callback)
        for path, regex, method, callback in endpoints
    ]


# --- Exact string rules, so that clients and fuzzers know what the API accepts ---------------
# DRF and Django forms strip what Python's str.isspace() calls whitespace before they check a
# value for blankness, and refuse the NUL character outright.
_UNICODE_SPACE = r"\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f " + _UNICODE_SPACE
NO_NUL = r"^[^\x00]*$"
NOT_BLANK = rf"^[^\x00]*[^\x00{_SPACE}][^\x00]*$"
# A search term: no control character once the surrounding whitespace is stripped.
SEARCH = rf"^[{_SPACE}]*[^\x00-\x1f]*[{_SPACE}]*$"
# A credential: printable (no control character anywhere) and not only whitespace.
PRINTABLE_NOT_BLANK = rf"^[^\x00-\x1f]*[^\x00-\x20{_UNICODE_SPACE}][^\x00-\x1f]*$"


# gunicorn's --limit-request-line in the Procfiles and the systemd unit.
REQUEST_LINE_LIMIT = 8190


def string_schema(*, min_length: int = 0, max_length: int, pattern: str) -> dict:
    schema = {"type": "string", "maxLength": max_length, "pattern": pattern}
    if min_length:
        schema["minLength"] = min_length
    return schema


# OpenAPI links: what a client (or a stateful fuzzer) can do next with the object an operation
# returns. Keyed by operationId and status; every link takes the new object's id.
_LEAD_LINKS = ("leads_retrieve", "leads_partial_update", "leads_destroy", "leads_history")
_COMPANY_LINKS = ("companies_retrieve", "companies_partial_update", "companies_destroy")
_INTEGRATION_LINKS = (
    "integrations_retrieve",
    "integrations_partial_update",
    "integrations_destroy",
    "integrations_lists",
    "integrations_test",
    "integrations_import",
    "integrations_export",
)
_RUN_LINKS = ("sync_runs_retrieve", "sync_runs_cancel", "sync_runs_failures")
LINKS: dict[tuple[str, str], dict[str, dict]] = {
    ("leads_create", "201"): {
        target: {"operationId": target, "parameters": {"id": "$response.body#/id"}}
        for target in _LEAD_LINKS
    },
    ("companies_create", "201"): {
        **{
            target: {"operationId": target, "parameters": {"id": "$response.body#/id"}}
            for target in _COMPANY_LINKS
        },
        "leads_create": {
            "operationId": "leads_create",
            "requestBody": {"company_id": "$response.body#/id"},
            "description": "A lead in the new company.",
        },
        "leads_list": {
            "operationId": "leads_list",
            "parameters": {"company_id": "$response.body#/id"},
        },
    },
    ("integrations_create", "201"): {
        target: {"operationId": target, "parameters": {"id": "$response.body#/id"}}
        for target in _INTEGRATION_LINKS
    },
    **{
        (start, "202"): {
            target: {"operationId": target, "parameters": {"id": "$response.body#/id"}}
            for target in _RUN_LINKS
        }
        for start in ("integrations_import", "integrations_export")
    },
}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's inspector, plus what it cannot know about this API.

    * a string field of a request body says which strings it refuses (NUL, only whitespace);
    * a request body of a serializer that refuses unknown fields says so;
    * a create operation links to what can be done with the object it returns;
    * an operation that reads a body answers 413 when the body is over the size limit
      (Django refuses it as it is read; operations that read no body never see it);
    * every operation answers 414 when the request line is over gunicorn's limit.
    """

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(field, serializers.CharField)
            and schema.get("type") == "string"
            and not {"format", "enum", "pattern"} & set(schema)
        ):
            blank_ok = field.allow_blank or not field.trim_whitespace
            schema["pattern"] = NO_NUL if blank_ok else NOT_BLANK
        return schema

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        from crm.api import StrictFieldsMixin  # crm.api builds on this module

        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if (
            direction == "request"
            and isinstance(serializer, StrictFieldsMixin)
            and schema.get("type") == "object"
        ):
            schema["additionalProperties"] = False
        return schema

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return operation
        from crm.api import ErrorSerializer

        responses = operation["responses"]
        if "requestBody" in operation and "413" not in responses:
            too_large = OpenApiResponse(
                ErrorSerializer,
                description="The body is over the limit (DATA_UPLOAD_MAX_MEMORY_SIZE bytes).",
            )
            responses["413"] = self._get_response_for_code(too_large, "413")
        if "414" not in responses:
            # Answered by gunicorn before the app sees the request: its small HTML page.
            responses["414"] = {
                "description": (
                    f"The request line (method, path and query string) is longer than "
                    f"{REQUEST_LINE_LIMIT} bytes, gunicorn's --limit-request-line; the server "
                    "answers before reading the request."
                ),
                "content": {"text/html": {"schema": {"type": "string"}}},
            }
        for status, response in operation.get("responses", {}).items():
            links = LINKS.get((operation["operationId"], status))
            if links:
                response["links"] = copy.deepcopy(links)
        return operation


class CachedSchemaView(SpectacularAPIView):
    """``/v1/schema``, built and rendered once per process and format, then served from memory.

    The schema depends only on the code, yet drf-spectacular walks every view to build it,
    and renders it, on each request: 30 ms (YAML) of CPU that any anonymous visitor could ask
    for in a loop. The API is versioned in its path (/v1), so ``?version=`` selects nothing
    here (and cannot grow the cache).
    """

    _schema: ClassVar[Any] = None
    _rendered: ClassVar[dict[str, tuple[bytes, str]]] = {}
    _lock = threading.Lock()

    def _get_version_parameter(self, request):
        return None

    def _get_schema_response(self, request):
        if CachedSchemaView._schema is None:
            with self._lock:
                if CachedSchemaView._schema is None:
                    CachedSchemaView._schema = super()._get_schema_response(request).data
        filename = self._get_filename(request, None)
        disposition = f'inline; filename="{filename}"'
        return Response(data=CachedSchemaView._schema, headers={"Content-Disposition": disposition})

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        media_type = getattr(response, "accepted_media_type", None)
        if response.status_code != 200 or not isinstance(response, Response) or not media_type:
            return response
        if ";" in media_type:  # the client's own parameters (indent=...): rendered for it alone
            return response
        rendered = self._rendered.get(media_type)
        if rendered is None:
            response.render()
            self._rendered[media_type] = (response.content, response["Content-Type"])
        else:
            response.content = rendered[0]  # marks the response rendered
            response["Content-Type"] = rendered[1]
        return response
