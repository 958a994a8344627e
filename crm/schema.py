"""OpenAPI descriptions for the pieces drf-spectacular cannot infer."""

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token (create one with manage.py createapitoken).",
        }


class CustomAttributesFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "leads.serializers.CustomAttributesField"

    def map_serializer_field(self, auto_schema, direction):
        schema = build_basic_type(OpenApiTypes.OBJECT)
        schema["additionalProperties"] = {"type": "string", "maxLength": 2000}
        schema["maxProperties"] = 100
        return schema


def document_paths_without_trailing_slash(endpoints):
    """Both forms answer; the schema lists the plain one (``/v1/leads``, not ``/v1/leads/``)."""
    return [
        (path.rstrip("/") if path != "/" else path, regex, method, callback)
        for path, regex, method, callback in endpoints
    ]


class CredentialsFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "integrations.serializers.CredentialsField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "object",
            "writeOnly": True,
            "description": (
                'Hunter and Instantly: {"api_key"}; Snov.io: {"client_id", "client_secret"}.'
            ),
            "additionalProperties": {"type": "string"},
        }


class VendorIdFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "integrations.serializers.VendorIdField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "oneOf": [{"type": "string", "maxLength": 128}, {"type": "integer", "minimum": 0}],
            "nullable": True,
            "description": "The vendor's id, as the vendor gives it.",
        }
