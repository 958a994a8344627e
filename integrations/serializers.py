"""Input validation and documented response shapes for /v1/integrations and /v1/sync-runs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from crm.api import MAX_ID, StrictFieldsMixin
from integrations.models import Integration, Provider, Schedule, SyncRun
from integrations.providers import CREDENTIAL_FIELDS
from integrations.registry import PROVIDERS, provider_spec
from leads.assignment import MAX_ASSIGN_TO, assign_check, assign_to_check
from leads.filters import LeadFilterSet, lead_filter_body_fields
from leads.models import Assign
from leads.scope import Scope
from leads.selectors import owner_filter_check

MAX_EXPORT_IDS = 10_000


class VendorIdField(serializers.Field):
    """A vendor's list or campaign id: a string or an integer, as the vendor gives it."""

    default_error_messages = {"invalid": "Must be a string, an integer or null."}

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> str | int:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            if not 0 <= data <= MAX_ID:
                raise serializers.ValidationError("Out of range.")
            return data
        if isinstance(data, str):
            text = data.strip()
            if len(text) > 128 or "\x00" in text:
                raise serializers.ValidationError("At most 128 characters, no null characters.")
            return text
        self.fail("invalid")

    def to_representation(self, value: Any) -> Any:
        return value


MAX_FIELD_MAP = 100


class CustomFieldMapField(serializers.DictField):
    """``{"crm attribute key": "Snov.io custom field label"}``: short, printable strings."""

    def __init__(self, **kwargs):
        super().__init__(child=serializers.CharField(max_length=255), **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if isinstance(data, dict) and any(not isinstance(v, str) for v in data.values()):
            raise serializers.ValidationError("Every label must be a string.")
        value = super().to_internal_value(data)
        if len(value) > MAX_FIELD_MAP:
            raise serializers.ValidationError(f"At most {MAX_FIELD_MAP} entries.")
        cleaned = {}
        for key, label in value.items():
            key, label = str(key).strip(), label.strip()
            if not key or not label or len(key) > 255:
                raise serializers.ValidationError(
                    "Keys and labels must be non-empty strings of at most 255 characters."
                )
            if any(ch in label for ch in "[]") or any(ord(ch) < 32 for ch in key + label):
                raise serializers.ValidationError(
                    f"{label!r}: a label may not contain brackets or control characters."
                )
            cleaned[key] = label
        return cleaned


class IntegrationSettingsSerializer(StrictFieldsMixin, serializers.Serializer):
    import_list_id = VendorIdField()
    export_list_id = VendorIdField()
    export_campaign_id = VendorIdField()
    schedule = serializers.ChoiceField(choices=Schedule.choices, required=False)
    # Snov.io only: profiles fetched on import (slower, complete), and where CRM custom
    # attributes go on export.
    full_profiles = serializers.BooleanField(required=False)
    custom_field_map = CustomFieldMapField(required=False)
    assign = serializers.ChoiceField(
        choices=Assign.choices,
        required=False,
        help_text="Who new leads of an import go to: the owner (default), or, for a team's "
        "manager, the members of assign_to in turn (round_robin) or to whoever has the fewest "
        "open leads (least_loaded). Leads found in the manager's scope keep their owner.",
    )
    assign_to = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        allow_null=True,
        required=False,
        max_length=MAX_ASSIGN_TO,
        help_text="The user ids (in the owner's scope, active) new leads are spread over; "
        "null or empty: every active rep of the manager's team.",
    )


def assignment_settings(user: Any, settings: dict[str, Any] | None) -> None:
    """Check ``settings.assign`` and ``settings.assign_to`` against the integration owner's
    team (``leads.assignment``), normalising ``assign_to`` in place; a 400 naming the field."""
    if not settings:
        return
    errors: dict[str, list[str]] = {}
    for name, check in (("assign", assign_check), ("assign_to", assign_to_check)):
        if name not in settings:
            continue
        try:
            settings[name] = check(user=user, **{name: settings[name]})
        except DjangoValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise serializers.ValidationError({"settings": errors})


def _option(value: Any) -> Any:
    """A vendor option as the API shows it: a copy, never the stored object itself."""
    return dict(value) if isinstance(value, dict) else value


def refuse_foreign_settings(provider: str, settings: dict[str, Any] | None) -> None:
    """One vendor's own settings mean nothing to the others: say so rather than store them."""
    if not settings:
        return
    own = provider_spec(provider).options
    for spec in PROVIDERS.values():
        named = [name for name in spec.options if name in settings and name not in own]
        if named:
            raise serializers.ValidationError(
                {"settings": [f"{', '.join(named)}: only for {spec.label} integrations."]}
            )


class CredentialsField(serializers.Field):
    """Write-only: validated against the provider's credential fields in the serializer."""

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be an object.")
        return data

    def to_representation(self, value: Any) -> None:  # never shown again
        return None


def validate_credentials(provider: str, credentials: dict[str, Any]) -> dict[str, str]:
    expected = CREDENTIAL_FIELDS[provider]
    errors = []
    unknown = sorted(set(credentials) - set(expected))
    if unknown:
        errors.append(
            f"Unknown for {provider}: {', '.join(unknown)}. Expected: {', '.join(expected)}."
        )
    cleaned = {}
    for name in expected:
        value = credentials.get(name)
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{name} is required (a non-empty string).")
        elif len(value) > 500 or any(ord(ch) < 32 for ch in value):
            errors.append(f"{name} must be at most 500 printable characters.")
        else:
            cleaned[name] = value.strip()
    if errors:
        raise serializers.ValidationError({"credentials": errors})
    return cleaned


class IntegrationCreateSerializer(StrictFieldsMixin, serializers.Serializer):
    read_only_names = {"id", "state", "last_error", "credentials_hint", "created_at", "updated_at"}

    provider = serializers.ChoiceField(choices=Provider.choices)
    credentials = CredentialsField()
    settings = IntegrationSettingsSerializer(required=False)

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_provider(self, value: str) -> str:
        if Scope.of(self.user).own(Integration).filter(provider=value).exists():
            raise serializers.ValidationError(
                f"You already have a {value} integration: change it instead (PATCH)."
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["credentials"] = validate_credentials(attrs["provider"], attrs["credentials"])
        refuse_foreign_settings(attrs["provider"], attrs.get("settings"))
        assignment_settings(self.user, attrs.get("settings"))
        return attrs


class IntegrationUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    read_only_names = {
        "id", "provider", "state", "last_error", "credentials_hint", "created_at", "updated_at",
    }  # fmt: skip

    credentials = CredentialsField(required=False)
    settings = IntegrationSettingsSerializer(required=False, partial=True)

    def __init__(self, *args, integration: Integration | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.integration = integration

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        assert self.integration is not None  # an update always names its integration
        refuse_foreign_settings(self.integration.provider, attrs.get("settings"))
        assignment_settings(self.integration.user, attrs.get("settings"))
        if "credentials" in attrs:
            attrs["credentials"] = validate_credentials(
                self.integration.provider, attrs["credentials"]
            )
        return attrs


class IntegrationSettingsOut(serializers.Serializer):
    import_list_id = serializers.JSONField(allow_null=True)
    export_list_id = serializers.JSONField(allow_null=True)
    export_campaign_id = serializers.JSONField(allow_null=True)
    schedule = serializers.ChoiceField(choices=Schedule.choices)
    full_profiles = serializers.BooleanField(required=False, help_text="Snov.io only")
    custom_field_map = serializers.DictField(
        child=serializers.CharField(), required=False, help_text="Snov.io only"
    )
    assign = serializers.ChoiceField(choices=Assign.choices)
    assign_to = serializers.ListField(child=serializers.IntegerField(), allow_null=True)


class IntegrationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    provider = serializers.ChoiceField(choices=Provider.choices)
    credentials_hint = serializers.CharField()
    settings = IntegrationSettingsOut()
    state = serializers.ChoiceField(choices=Integration.State.choices)
    last_error = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def integration_to_dict(integration: Integration) -> dict[str, Any]:
    options = integration.options or {}
    return {
        "id": integration.pk,
        "provider": integration.provider,
        "credentials_hint": integration.credentials_hint,
        "settings": {
            "import_list_id": integration.import_list_id,
            "export_list_id": integration.export_list_id,
            "export_campaign_id": integration.export_campaign_id,
            "schedule": integration.schedule,
            "assign": integration.assign,
            "assign_to": integration.assign_to,
            **{
                name: _option(options.get(name, default))
                for name, default in integration.spec.options.items()
            },
        },
        "state": integration.state,
        "last_error": integration.last_error,
        "created_at": integration.created_at,
        "updated_at": integration.updated_at,
    }


class IntegrationPageSerializer(serializers.Serializer):
    data = IntegrationSerializer(many=True)  # type: ignore[assignment]
    next_cursor = serializers.IntegerField(allow_null=True)


class VendorListSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField(allow_blank=True)
    count = serializers.IntegerField(allow_null=True)
    kind = serializers.ChoiceField(choices=["list", "campaign"])


class VendorListsSerializer(serializers.Serializer):
    data = VendorListSerializer(many=True)  # type: ignore[assignment]


class TestResultSerializer(serializers.Serializer):
    ok = serializers.BooleanField()
    detail = serializers.CharField(required=False)


class ExportRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    """Which leads to export: ``lead_ids``, or the list filters, or nothing (all).

    The filters have the lead list's names, rules and JSON types (numbers as numbers).
    """

    lead_ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID),
        required=False,
        allow_empty=False,
        max_length=MAX_EXPORT_IDS,
    )

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), **lead_filter_body_fields()}

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        lead_ids = attrs.pop("lead_ids", None)
        filters = {key: value for key, value in attrs.items()}
        if lead_ids is not None and filters:
            raise serializers.ValidationError(
                {"lead_ids": ["Give either lead_ids or filters, not both."]}
            )
        if lead_ids is not None:
            ids = sorted(set(lead_ids))
            found = set(Scope.of(self.user).leads().filter(id__in=ids).values_list("id", flat=True))
            missing = [i for i in ids if i not in found]
            if missing:
                shown = ", ".join(str(i) for i in missing[:20])
                raise serializers.ValidationError({"lead_ids": [f"No such leads: {shown}."]})
            return {"lead_ids": ids}
        if filters:
            # An owner outside the scope is refused as the list refuses it.
            owner_filter_check(user=self.user, user_id=filters.get("user_id"))
            # Stored as the list's query parameters, and checked by the list's own rules.
            as_text = {
                k: v.isoformat() if isinstance(v, dt.date) else str(v) for k, v in filters.items()
            }
            filterset = LeadFilterSet(data=as_text)
            if not filterset.is_valid():
                raise serializers.ValidationError({k: list(v) for k, v in filterset.errors.items()})
            return {"filters": as_text}
        return {}


class SyncRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    integration_id = serializers.IntegerField()
    provider = serializers.ChoiceField(choices=Provider.choices)
    direction = serializers.ChoiceField(choices=SyncRun.Direction.choices)
    state = serializers.ChoiceField(choices=SyncRun.STATE_CHOICES)
    processed = serializers.IntegerField()
    total = serializers.IntegerField(allow_null=True)
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    skipped = serializers.IntegerField()
    failed = serializers.IntegerField()
    error = serializers.CharField(allow_null=True)
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


RUN_FIELDS = (
    "id", "integration_id", "provider", "direction", "state", "processed", "total", "created",
    "updated", "unchanged", "skipped", "failed", "error", "started_at", "finished_at",
)  # fmt: skip


def run_to_dict(run: SyncRun) -> dict[str, Any]:
    return {name: getattr(run, name) for name in RUN_FIELDS}


class SyncRunPageSerializer(serializers.Serializer):
    data = SyncRunSerializer(many=True)  # type: ignore[assignment]
    next_cursor = serializers.IntegerField(allow_null=True)


class SyncRunConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    run_id = serializers.IntegerField()
    run = SyncRunSerializer()


class SyncFailureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    record = serializers.CharField()
    detail = serializers.CharField()
    at = serializers.DateTimeField()


class SyncFailurePageSerializer(serializers.Serializer):
    data = SyncFailureSerializer(many=True)  # type: ignore[assignment]
    next_cursor = serializers.IntegerField(allow_null=True)
