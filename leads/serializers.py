"""Input validation for the /v1 pipeline API, and the response shapes the schema documents.

Responses are built by the selectors as plain dicts (faster than serializers); the output
serializers here describe exactly those dicts for the OpenAPI schema, and a test checks that
the two agree.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from rest_framework import serializers

from leads.models import Company, EmailStatus, Lead, Status
from leads.selectors import lead_email_taken

MAX_ID = 2**63 - 1
MAX_CUSTOM_ATTRIBUTES = 100
MAX_CUSTOM_KEY = 100
MAX_CUSTOM_VALUE = 2000

LEAD_READ_ONLY = {
    "id",
    "user_id",
    "company",
    "status_changed_at",
    "created_at",
    "updated_at",
    "email_status",
    "email_verified_at",
    "email_verified_by",
}
COMPANY_READ_ONLY = {"id", "user_id", "lead_count", "created_at", "updated_at"}


def _json_type_error(field: serializers.Field, value: Any) -> str | None:
    """DRF turns 5 into "5" and "5" into 5; the schema says string or integer, so must we."""
    if value is None:
        return None
    if isinstance(field, serializers.CharField) and not isinstance(value, str):
        return "Not a valid string."
    if isinstance(field, serializers.IntegerField) and (
        isinstance(value, bool) or not isinstance(value, int)
    ):
        return "A valid integer is required."
    if isinstance(field, serializers.BooleanField) and not isinstance(value, bool):
        return "Must be true or false."
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        for item in value:
            error = _json_type_error(field.child, item)
            if error:
                return error
    return None


class StrictFieldsMixin:
    """Unknown body fields are a 400 naming them; read-only fields sent back are ignored.

    Ignoring the read-only ones lets a client GET an object, change it and send it back.
    Values must have the JSON type the schema gives: no quiet conversion between strings and
    numbers.
    """

    read_only_names: set[str] = set()

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = set(data) - set(self.fields) - self.read_only_names
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in sorted(unknown)}
                )
            wrong = {
                name: [error]
                for name, value in data.items()
                if name in self.fields
                and (error := _json_type_error(self.fields[name], value)) is not None
            }
            if wrong:
                raise serializers.ValidationError(wrong)
        return super().to_internal_value(data)


def normalize_domain(value: str) -> str:
    """``https://ACME.com/about`` → ``acme.com``: a lower-case host, no scheme, port or path."""
    text = value.strip()
    if not text:
        return ""
    if "://" not in text:
        text = "//" + text
    try:
        host = urlsplit(text).hostname or ""
    except ValueError:
        host = ""
    host = host.rstrip(".").lower()
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    labels = ascii_host.split(".")
    valid = (
        len(labels) >= 2
        and len(ascii_host) <= 253
        and all(
            0 < len(label) <= 63
            and label[0] != "-"
            and label[-1] != "-"
            and all(ch.isalnum() or ch == "-" for ch in label)
            for label in labels
        )
    )
    if not valid:
        raise serializers.ValidationError("Enter a domain such as acme.com.")
    return host


class CustomAttributesField(serializers.Field):
    default_error_messages = {
        "not_object": "Must be an object of string keys to string values.",
    }

    def to_internal_value(self, data: Any) -> dict[str, str]:
        if not isinstance(data, dict):
            self.fail("not_object")
        if len(data) > MAX_CUSTOM_ATTRIBUTES:
            raise serializers.ValidationError(
                f"At most {MAX_CUSTOM_ATTRIBUTES} attributes are allowed."
            )
        errors = []
        for key, value in data.items():
            if not key.strip() or len(key) > MAX_CUSTOM_KEY:
                errors.append(f"Key {key[:40]!r} must be 1 to {MAX_CUSTOM_KEY} characters.")
            elif not isinstance(value, str):
                errors.append(f"Value of {key!r} must be a string.")
            elif len(value) > MAX_CUSTOM_VALUE:
                errors.append(f"Value of {key!r} is longer than {MAX_CUSTOM_VALUE} characters.")
            elif "\x00" in key or "\x00" in value:
                errors.append(f"{key!r} contains a null character.")
        if errors:
            raise serializers.ValidationError(errors)
        return dict(data)

    def to_representation(self, value: dict[str, str]) -> dict[str, str]:
        return value


def _text(max_length: int) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, allow_blank=True, required=False, trim_whitespace=True
    )


class LeadWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    read_only_names = LEAD_READ_ONLY

    company_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    score = serializers.IntegerField(min_value=0, max_value=100, required=False)
    notes = serializers.CharField(
        max_length=100_000, allow_blank=True, required=False, trim_whitespace=False
    )
    email = serializers.EmailField(max_length=254, allow_blank=True, required=False)
    first_name = _text(150)
    last_name = _text(150)
    position = _text(255)
    phone = _text(64)
    linkedin_url = _text(500)
    source = _text(255)
    custom_attributes = CustomAttributesField(required=False)
    do_not_contact = serializers.BooleanField(required=False)
    do_not_contact_reason = _text(255)

    def __init__(self, *args, user=None, lead: Lead | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.lead = lead

    def validate_email(self, value: str) -> str:
        value = value.lower()
        if value and lead_email_taken(
            user=self.user, email=value, exclude_id=self.lead.pk if self.lead else None
        ):
            raise serializers.ValidationError("A lead with this email already exists.")
        return value

    def validate_company_id(self, value: int) -> Company:
        company = Company.objects.filter(user=self.user, pk=value).first()
        if company is None:
            # Another user's company reads exactly like a missing one.
            raise serializers.ValidationError("No such company.")
        return company

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if "company_id" in values:
            values["company"] = values.pop("company_id")
        return values


class CompanyRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    domain = serializers.CharField()


class LeadSerializer(serializers.Serializer):
    """The lead as every endpoint returns it (documentation of the dicts in selectors)."""

    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    company_id = serializers.IntegerField()
    company = CompanyRefSerializer()
    status = serializers.ChoiceField(choices=Status.choices)
    score = serializers.IntegerField(min_value=0, max_value=100)
    notes = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    position = serializers.CharField(allow_blank=True)
    phone = serializers.CharField(allow_blank=True)
    linkedin_url = serializers.CharField(allow_blank=True)
    source = serializers.CharField(allow_blank=True)
    custom_attributes = serializers.DictField(child=serializers.CharField(allow_blank=True))
    status_changed_at = serializers.DateTimeField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    do_not_contact = serializers.BooleanField(
        help_text="Never exported to any provider while true (an unsubscribe, or a person's "
        "decision); exports count such leads as skipped."
    )
    do_not_contact_reason = serializers.CharField(allow_blank=True)
    email_status = serializers.ChoiceField(
        choices=EmailStatus.choices,
        help_text="The last verification of the email; back to unknown when the email changes.",
    )
    email_verified_at = serializers.DateTimeField(allow_null=True)
    email_verified_by = serializers.CharField(allow_null=True, help_text="The provider.")


class LeadPageSerializer(serializers.Serializer):
    data = LeadSerializer(many=True)
    next_cursor = serializers.IntegerField(allow_null=True)


class LeadEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    from_status = serializers.ChoiceField(choices=Status.choices, allow_null=True)
    to_status = serializers.ChoiceField(choices=Status.choices)
    changed_at = serializers.DateTimeField()
    source = serializers.ChoiceField(choices=["api", "ui", "admin", "import", "csv"])
    provider = serializers.CharField(allow_null=True)


class LeadEventPageSerializer(serializers.Serializer):
    data = LeadEventSerializer(many=True)
    next_cursor = serializers.IntegerField(allow_null=True)


class StatusCountsSerializer(serializers.Serializer):
    new = serializers.IntegerField()
    contacted = serializers.IntegerField()
    qualified = serializers.IntegerField()
    converted = serializers.IntegerField()
    lost = serializers.IntegerField()


class LeadStatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_status = StatusCountsSerializer()


class CompanyWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    read_only_names = COMPANY_READ_ONLY

    name = serializers.CharField(max_length=255)
    domain = serializers.CharField(max_length=500, allow_blank=True, required=False)
    website = _text(500)
    industry = _text(255)
    size = _text(64)
    country_code = _text(8)

    def __init__(self, *args, user=None, company: Company | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.company = company

    def validate_domain(self, value: str) -> str:
        domain = normalize_domain(value)
        if domain:
            clash = Company.objects.filter(user=self.user, domain=domain)
            if self.company is not None:
                clash = clash.exclude(pk=self.company.pk)
            if clash.exists():
                raise serializers.ValidationError("A company with this domain already exists.")
        return domain


class CompanySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    user_id = serializers.IntegerField()
    name = serializers.CharField()
    domain = serializers.CharField(allow_blank=True)
    website = serializers.CharField(allow_blank=True)
    industry = serializers.CharField(allow_blank=True)
    size = serializers.CharField(allow_blank=True)
    country_code = serializers.CharField(allow_blank=True)
    lead_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class CompanyPageSerializer(serializers.Serializer):
    data = CompanySerializer(many=True)
    next_cursor = serializers.IntegerField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class CompanyConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    lead_count = serializers.IntegerField()
