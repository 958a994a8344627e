"""OpenAPI descriptions of the integrations API's own fields and bodies."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent

from crm.schema import NO_NUL, PRINTABLE_NOT_BLANK, SEARCH, string_schema
from integrations.registry import PROVIDERS


class CredentialsFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "integrations.serializers.CredentialsField"

    def map_serializer_field(self, auto_schema, direction):
        shapes = {
            spec.credential_fields: credentials_schema(spec.credential_fields)
            for spec in PROVIDERS.values()
        }
        return {
            "oneOf": list(shapes.values()),
            "writeOnly": True,
            "description": "; ".join(
                f"{spec.label}: {{{', '.join(repr(n) for n in spec.credential_fields)}}}"
                for spec in PROVIDERS.values()
            ).replace("'", '"'),
        }


class VendorIdFieldSchema(OpenApiSerializerFieldExtension):
    target_class = "integrations.serializers.VendorIdField"

    def map_serializer_field(self, auto_schema, direction):
        return {
            "oneOf": [
                {"type": "string", "maxLength": 128, "pattern": NO_NUL},
                {"type": "integer", "format": "int64", "minimum": 0, "maximum": 2**63 - 1},
            ],
            "nullable": True,
            "description": "The vendor's id, as the vendor gives it.",
        }


class IntegrationCreateSchema(OpenApiSerializerExtension):
    """One shape per provider, since the credentials depend on it, told apart by ``provider``.

    Each shape is a component of its own with ``provider`` a plain one-value enum, and the
    body a ``oneOf`` of them with a discriminator: client generators (openapi-python-client
    among them) build one class per provider from that and pick it by the field's value.
    """

    target_class = "integrations.serializers.IntegrationCreateSerializer"

    def map_serializer(self, auto_schema, direction):
        from integrations.serializers import IntegrationSettingsSerializer

        settings_ref = auto_schema.resolve_serializer(IntegrationSettingsSerializer, direction).ref
        refs: dict[str, dict] = {}
        for key, spec in PROVIDERS.items():
            name = f"{key.title()}IntegrationCreate"
            # The one-value enum as a component of its own: drf-spectacular would otherwise
            # gather every "provider" enum into one name, and collide.
            provider = ResolvedComponent(
                name=f"{key.title()}Provider",
                type=ResolvedComponent.SCHEMA,
                object=f"{key.title()}Provider",
                schema={"type": "string", "enum": [key]},
            )
            auto_schema.registry.register_on_missing(provider)
            component = ResolvedComponent(
                name=name,
                type=ResolvedComponent.SCHEMA,
                object=name,
                schema={
                    "type": "object",
                    "properties": {
                        "provider": provider.ref,
                        "credentials": credentials_schema(spec.credential_fields),
                        "settings": settings_ref,
                    },
                    "required": ["provider", "credentials"],
                    "additionalProperties": False,
                    "description": f"Connect {spec.label}.",
                },
            )
            auto_schema.registry.register_on_missing(component)
            refs[key] = component.ref
        return {
            "oneOf": list(refs.values()),
            # Every branch requires these; said here too so that the body itself is required
            # (drf-spectacular derives requestBody.required from this list).
            "required": ["provider", "credentials"],
            "discriminator": {
                "propertyName": "provider",
                "mapping": {key: ref["$ref"] for key, ref in refs.items()},
            },
            "description": "Connect a provider: one integration per provider and user.",
        }


def credentials_schema(names) -> dict:
    return {
        "type": "object",
        "writeOnly": True,
        "properties": {
            name: string_schema(max_length=500, pattern=PRINTABLE_NOT_BLANK) for name in names
        },
        "required": list(names),
        "additionalProperties": False,
    }


class ExportRequestSchema(OpenApiSerializerExtension):
    """Either ``lead_ids`` or the lead list's filters (or nothing: every lead), never both."""

    target_class = "integrations.serializers.ExportRequestSerializer"

    def map_serializer(self, auto_schema, direction):
        whole = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        properties = dict(whole["properties"])
        lead_ids = {**properties.pop("lead_ids"), "minItems": 1}
        properties["q"] = {**properties["q"], "pattern": SEARCH}
        return {
            "oneOf": [
                {
                    "type": "object",
                    "properties": {"lead_ids": lead_ids},
                    "required": ["lead_ids"],
                    "additionalProperties": False,
                },
                {"type": "object", "properties": properties, "additionalProperties": False},
            ],
            "description": whole.get("description", ""),
        }
