"""OpenAPI descriptions of the leads API's own fields (drf-spectacular extensions)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import build_basic_type
from drf_spectacular.types import OpenApiTypes

from crm.schema import NO_NUL


class CustomAttributesFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "leads.serializers.CustomAttributesField"

    def map_serializer_field(self, auto_schema, direction):
        schema = build_basic_type(OpenApiTypes.OBJECT) or {}
        schema["additionalProperties"] = {"type": "string", "maxLength": 2000, "pattern": NO_NUL}
        schema["maxProperties"] = 100
        # OpenAPI 3.0 has no propertyNames: the rule for keys can only be said in words.
        schema["description"] = (
            "String keys (1 to 100 characters, not only whitespace, no NUL) to string values."
        )
        return schema
