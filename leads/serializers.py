"""Input validation for the /v1 pipeline API, and the response shapes the schema documents.

Responses are built by the selectors as plain dicts (faster than serializers); the output
serializers here describe exactly those dicts for the OpenAPI schema, and a test checks that
the two agree.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from crm.api import MAX_ID, ErrorSerializer, StrictFieldsMixin  # noqa: F401
from leads import fields, normalize
from leads.models import Company, Lead, Role, Status
from leads.reassign import check_assignee
from leads.scope import Scope

LEAD_READ_ONLY = {
    "id",
    "company",
    "status_changed_at",
    "created_at",
    "updated_at",
    "email_status",
    "email_verified_at",
    "email_verified_by",
}
COMPANY_READ_ONLY = {"id", "user_id", "lead_count", "created_at", "updated_at"}


class CustomAttributesField(serializers.Field):
    default_error_messages = {
        "not_object": "Must be an object of string keys to string values.",
    }

    def to_internal_value(self, data: Any) -> dict[str, str]:
        try:
            return normalize.normalize_custom_attributes(data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def to_representation(self, value: dict[str, str]) -> dict[str, str]:
        return value


def _text(max_length: int) -> serializers.CharField:
    return serializers.CharField(
        max_length=max_length, allow_blank=True, required=False, trim_whitespace=True
    )


class LeadWriteSerializer(StrictFieldsMixin, serializers.Serializer):
    read_only_names = LEAD_READ_ONLY

    company_id = serializers.IntegerField(min_value=1, max_value=MAX_ID)
    user_id = serializers.IntegerField(
        min_value=1,
        max_value=MAX_ID,
        required=False,
        help_text="The owner (default: you). A team's manager may name an active member: on "
        "a PATCH this reassigns the lead (409 when that member has a lead with its email).",
    )
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
    source = _text(255)  # type: ignore[assignment]
    custom_attributes = CustomAttributesField(required=False)
    do_not_contact = serializers.BooleanField(required=False)
    do_not_contact_reason = _text(255)
    deal_value = fields.MoneyField(allow_null=True, required=False)
    expected_close_date = serializers.DateField(allow_null=True, required=False)

    def __init__(self, *args, user=None, lead: Lead | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.lead = lead

    def validate_email(self, value: str) -> str:
        # Uniqueness is the services' rule (leads.services.lead_email_check).
        return value.lower()

    def validate_user_id(self, value: int) -> int:
        current = self.lead.user_id if self.lead is not None else self.user.pk
        if value != current:
            # Only a manager names someone else, and only an active member of the team; the
            # same words whether the user exists or not.
            check_assignee(actor=self.user, user_id=value)
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "company" in attrs:  # company_id, renamed by to_internal_value
            # A lead and its company share an owner: the one the lead will have (a manager
            # editing a rep's lead picks among the rep's companies).
            owner_id = attrs.get(
                "user_id", self.lead.user_id if self.lead is not None else self.user.pk
            )
            company = Scope.of(self.user).companies_of(owner_id).filter(pk=attrs["company"]).first()
            if company is None:
                # Another user's company reads exactly like a missing one.
                raise serializers.ValidationError({"company_id": ["No such company."]})
            attrs["company"] = company
        return attrs

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        if "company_id" in values:
            values["company"] = values.pop("company_id")
        return values


class LeadSerializer(serializers.Serializer):
    """The lead as every endpoint returns it: leads.fields declares its fields."""

    def get_fields(self) -> dict[str, serializers.Field]:
        return fields.schema_fields()


class LeadPageSerializer(serializers.Serializer):
    data = LeadSerializer(many=True)  # type: ignore[assignment]
    next_cursor = serializers.IntegerField(allow_null=True)


class LeadEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(
        choices=["status", "owner"],
        help_text="What changed: the status, or the owner (reassignment).",
    )
    from_status = serializers.ChoiceField(choices=Status.choices, allow_null=True)
    to_status = serializers.ChoiceField(choices=Status.choices)
    changed_at = serializers.DateTimeField()
    # A field named like DRF's own ``Field.source`` attribute: the API's name wins.
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["api", "ui", "admin", "import", "csv"]
    )
    provider = serializers.CharField(allow_null=True)
    from_user_id = serializers.IntegerField(
        required=False, help_text="Owner entries only: who owned the lead before."
    )
    to_user_id = serializers.IntegerField(
        required=False,
        help_text="Owner entries: who owns it since. Also on the first entry (from_status "
        "null) of a lead an import assigned to a member of the team (settings.assign): who it "
        "was assigned to.",
    )


class LeadEventPageSerializer(serializers.Serializer):
    data = LeadEventSerializer(many=True)  # type: ignore[assignment]
    next_cursor = serializers.IntegerField(allow_null=True)


class StatusCountsSerializer(serializers.Serializer):
    new = serializers.IntegerField()
    contacted = serializers.IntegerField()
    qualified = serializers.IntegerField()
    converted = serializers.IntegerField()
    lost = serializers.IntegerField()


class StatusValuesSerializer(serializers.Serializer):
    new = serializers.DecimalField(max_digits=20, decimal_places=2)
    contacted = serializers.DecimalField(max_digits=20, decimal_places=2)
    qualified = serializers.DecimalField(max_digits=20, decimal_places=2)
    converted = serializers.DecimalField(max_digits=20, decimal_places=2)
    lost = serializers.DecimalField(max_digits=20, decimal_places=2)


class OwnerCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_status = StatusCountsSerializer()


class LeadStatsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_status = StatusCountsSerializer()
    value_by_status = StatusValuesSerializer(
        help_text="Sums of deal_value per status, as decimal strings."
    )
    by_user = serializers.DictField(
        child=OwnerCountsSerializer(),
        required=False,
        help_text="Only with group_by=user: the counts per owner, keyed by user id, for every "
        "user in your scope (or the one user_id names), zeros included.",
    )


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
        # Uniqueness is the services' rule (leads.services.company_domain_check).
        try:
            return normalize.normalize_domain(value)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None


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
    data = CompanySerializer(many=True)  # type: ignore[assignment]
    next_cursor = serializers.IntegerField(allow_null=True)


class CompanyConflictSerializer(serializers.Serializer):
    detail = serializers.CharField()
    lead_count = serializers.IntegerField()


# --- Users ------------------------------------------------------------------------------------

ROLE_CHOICES = [Role.REP.value, Role.MANAGER.value]


class TeamRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    role = serializers.ChoiceField(
        choices=ROLE_CHOICES, allow_null=True, help_text="Your role in your team; null without one."
    )
    team = TeamRefSerializer(allow_null=True)


class UserSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    role = serializers.ChoiceField(choices=ROLE_CHOICES, allow_null=True)
    is_active = serializers.BooleanField()
    open_leads = serializers.IntegerField(help_text="Leads neither converted nor lost.")


class UserPageSerializer(serializers.Serializer):
    data = UserSerializer(many=True)  # type: ignore[assignment]
    next_cursor = serializers.IntegerField(allow_null=True)
