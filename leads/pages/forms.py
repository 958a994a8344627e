"""Forms of the leads and companies pages: they validate; the services write."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html

from crm.ids import parse_id
from leads import page_selectors, services
from leads.list_columns import LIST_COLUMNS
from leads.models import Company, Lead, Source, Status
from leads.normalize import normalize_custom_attributes, normalize_domain
from leads.scope import Scope

# Lead fields a person edits one at a time on the lead page, in display order.
INLINE_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "position",
    "company",
    "linkedin_url",
    "source",
    "score",
    "deal_value",
    "expected_close_date",
    "notes",
)


def field_label(name: str) -> str:
    """A lead field's label on the lead page and in messages; the deal value names the
    currency."""
    if name == "deal_value":
        return f"Deal value ({settings.CURRENCY})"
    return str(LeadForm.base_fields[name].label)


class DescribedErrorsMixin:
    """Point each invalid input at its message (aria-describedby), so a screen reader reads
    the error with the field; Django already sets aria-invalid."""

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        for name in self.errors:  # type: ignore[attr-defined]
            if name not in self.fields:  # type: ignore[attr-defined]
                continue
            bound = self[name]  # type: ignore[index]
            ids = [f"{bound.auto_id}_error"]
            if bound.help_text:
                ids.append(f"{bound.auto_id}_helptext")
            self.fields[name].widget.attrs["aria-describedby"] = " ".join(ids)  # type: ignore[attr-defined]


def _text(max_length: int, label: str, **kwargs: Any) -> forms.CharField:
    return forms.CharField(max_length=max_length, required=False, label=label, **kwargs)


class CompanyChoiceField(forms.ModelChoiceField):
    """A company of the user, validated by one indexed lookup; its <select> offers a bounded
    list (see page_selectors.company_choices) rather than every company."""

    default_error_messages = {"invalid_choice": "Choose one of your companies."}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(queryset=Company.objects.none(), **kwargs)

    # Whether the <select> holds only the first companies (the page then offers a search),
    # and which empty option the search's results start with (see COMPANY_EMPTY_LABELS).
    truncated = False
    finder_empty = ""

    # Options offered before the companies (after the empty one), e.g. "+ New company…".
    leading_choices: list[tuple[str, str]] = []
    # Whether the page shows the search box even when every company is in the <select>.
    searchable = False

    # Whose companies are offered: a lead's owner (a lead and its company share one).
    owner_id: int | None = None

    def set_user(self, user, include_id: int | None = None, owner_id: int | None = None) -> None:
        self.owner_id = owner_id
        self.queryset = Scope.of(user).companies_of(owner_id)
        choices, self.truncated = page_selectors.company_choices(
            user=user, include_id=include_id, owner_id=owner_id
        )
        self.has_companies = bool(choices)
        empty = [("", self.empty_label)] if self.empty_label is not None else []
        self.widget.choices = empty + self.leading_choices + choices


# The create form's option for a company typed in by name (the <select>'s value for it).
NEW_COMPANY = "new"


class CompanyOrNewChoiceField(CompanyChoiceField):
    """One of the user's companies, or NEW_COMPANY: the lead gets a new company."""

    leading_choices = [(NEW_COMPANY, "+ New company…")]

    def to_python(self, value: Any) -> Any:
        if value == NEW_COMPANY:
            return NEW_COMPANY
        return super().to_python(value)

    def validate(self, value: Any) -> None:
        if value != NEW_COMPANY:
            super().validate(value)


class LeadForm(DescribedErrorsMixin, forms.Form):
    first_name = _text(150, "First name", widget=forms.TextInput(attrs={"autocomplete": "off"}))
    last_name = _text(150, "Last name", widget=forms.TextInput(attrs={"autocomplete": "off"}))
    email = forms.EmailField(max_length=254, required=False, label="Email")
    phone = _text(64, "Phone", widget=forms.TextInput(attrs={"type": "tel"}))
    position = _text(255, "Position")
    company = CompanyChoiceField(label="Company", empty_label=None)
    linkedin_url = _text(500, "LinkedIn URL")
    source = _text(255, "Source")
    status = forms.ChoiceField(choices=Status.choices, initial=Status.NEW, label="Status")
    score = forms.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        label="Score",
        help_text="0 to 100",
        error_messages={"invalid": "Enter a whole number from 0 to 100."},
    )
    notes = forms.CharField(
        max_length=100_000,
        required=False,
        strip=False,
        label="Notes",
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    deal_value = forms.DecimalField(
        min_value=0,
        max_digits=14,
        decimal_places=2,
        required=False,
        label="Deal value",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
        error_messages={"invalid": "Enter an amount such as 12500 or 12500.50."},
    )
    expected_close_date = forms.DateField(
        required=False,
        label="Expected close date",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": "Enter a date as YYYY-MM-DD."},
    )

    def __init__(
        self, *args: Any, user, lead: Lead | None = None, only: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.lead = lead
        if only is not None:
            # Inline edit of one field: the form validates just that one.
            self.fields = {only: self.fields[only]}
            self.fields[only].widget.attrs["autofocus"] = True
        if "deal_value" in self.fields:
            self.fields["deal_value"].label = field_label("deal_value")
        if "company" in self.fields:
            company: Any = self.fields["company"]
            company.set_user(
                user,
                include_id=lead.company_id if lead else None,
                owner_id=lead.user_id if lead else user.pk,
            )

    def clean_email(self) -> str:
        value = (self.cleaned_data.get("email") or "").lower()
        try:
            services.lead_email_check(
                user_id=self.user.pk, email=value, exclude_id=self.lead.pk if self.lead else None
            )
        except ValidationError as error:
            raise ValidationError(_linked_to_holder(error)) from None
        return value

    def clean_score(self) -> int:
        value = self.cleaned_data.get("score")
        return 0 if value is None else value


class LeadCreateForm(LeadForm):
    new_company_name = _text(255, "New company name")
    new_company_domain = _text(500, "New company domain", help_text="Optional, e.g. acme.com")

    field_order = [
        "first_name",
        "last_name",
        "email",
        "phone",
        "position",
        "company",
        "new_company_name",
        "new_company_domain",
        "linkedin_url",
        "source",
        "status",
        "score",
        "deal_value",
        "expected_close_date",
        "notes",
    ]

    # Nothing is chosen until the person picks: a company of theirs, or "+ New company…".
    company = CompanyOrNewChoiceField(label="Company", empty_label="Choose a company…")

    def __init__(self, *args: Any, user, **kwargs: Any) -> None:
        super().__init__(*args, user=user, **kwargs)
        company: Any = self.fields["company"]
        # Required is checked in clean(): a new company's name typed without choosing
        # "+ New company…" (the fields all show without JavaScript) is that choice too.
        company.required = False
        company.finder_empty = "new"
        company.searchable = True
        if not company.has_companies and not self.is_bound:
            # A person with no company yet has only one choice to make.
            self.initial.setdefault("company", NEW_COMPANY)

    def clean_new_company_domain(self) -> str:
        domain = normalize_domain(self.cleaned_data.get("new_company_domain") or "")
        try:
            services.company_domain_check(user_id=self.user.pk, domain=domain)
        except ValidationError:
            raise forms.ValidationError(
                "You already have a company with this domain: choose it in the list above."
            ) from None
        return domain

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        company = data.get("company")
        named = bool((data.get("new_company_name") or "").strip())
        if "company" not in self.errors and not named:
            if company == NEW_COMPANY:
                self.add_error("new_company_name", "Type the new company's name.")
            elif not company:
                self.add_error(
                    "company",
                    "Choose one of your companies, or “+ New company…” and type the new "
                    "company's name.",
                )
        if not any(data.get(f) for f in ("first_name", "last_name", "email")) and not any(
            f in self.errors for f in ("first_name", "last_name", "email")
        ):
            self.add_error("email", "Give the lead at least a name or an email.")
        return data

    def save(self) -> Lead:
        data = dict(self.cleaned_data)
        company = data.pop("company")
        name, domain = data.pop("new_company_name"), data.pop("new_company_domain")
        with transaction.atomic():
            if company in (None, "", NEW_COMPANY):
                company = services.company_create(
                    user=self.user, data={"name": name.strip(), "domain": domain}
                )
            return services.lead_create(
                user=self.user, company=company, data=data, source=Source.UI
            )


class CompanyForm(DescribedErrorsMixin, forms.Form):
    name = forms.CharField(max_length=255, label="Name")
    domain = _text(500, "Domain", help_text="e.g. acme.com")
    website = _text(500, "Website")
    industry = _text(255, "Industry")
    size = _text(64, "Size", help_text="e.g. 11-50")
    country_code = _text(8, "Country code", help_text="e.g. FR")

    def __init__(self, *args: Any, user, company: Company | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.company = company

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("This field is required.")
        return name

    def clean_domain(self) -> str:
        domain = normalize_domain(self.cleaned_data.get("domain") or "")
        try:
            services.company_domain_check(
                # Unique among the company's owner's companies (a manager may edit a rep's).
                user_id=self.company.user_id if self.company else self.user.pk,
                domain=domain,
                exclude_id=self.company.pk if self.company else None,
            )
        except ValidationError:
            raise forms.ValidationError(
                "You already have a company with this domain."
                if self.company is None or self.company.user_id == self.user.pk
                else "The company's owner already has a company with this domain."
            ) from None
        return domain


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)
    # Moving a lead to lost asks why (optional); "confirm" says the question was answered.
    reason = forms.CharField(
        max_length=services.REASON_MAX_LENGTH, required=False, label="Why was it lost?"
    )
    confirm = forms.BooleanField(required=False)


BULK_LIMIT = 500


class ColumnsForm(forms.Form):
    columns = forms.MultipleChoiceField(
        choices=list(LIST_COLUMNS.items()),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "Unknown column: %(value)s. Choose from the list."},
    )


class BulkForm(forms.Form):
    ACTIONS = (("status", "Change status"), ("delete", "Delete"), ("assign", "Assign to"))

    action = forms.ChoiceField(choices=ACTIONS)
    status = forms.ChoiceField(choices=Status.choices, required=False)
    # "assign": the member the selected leads go to (a team's manager only).
    to_user = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False)
    confirm = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ids = parse_ids(self.data.getlist("ids") if hasattr(self.data, "getlist") else [])

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not self.ids:
            raise forms.ValidationError("Select at least one lead first.")
        if len(self.ids) > BULK_LIMIT:
            raise forms.ValidationError(f"Select at most {BULK_LIMIT} leads at once.")
        if data.get("action") == "status" and not data.get("status"):
            raise forms.ValidationError("Choose the new status first.")
        if data.get("action") == "assign" and not data.get("to_user"):
            raise forms.ValidationError("Choose who the leads go to first.")
        return data


def custom_attributes_from_post(data) -> tuple[dict[str, str], list[str]]:
    """The attribute rows of the lead page's editor (``key``/``value`` lists) as the lead's
    attributes, and the problems that stop them: a row with a value and no name, a name twice,
    anything ``normalize_custom_attributes`` refuses. A row with neither is ignored, and
    clearing a row's name and value removes that attribute."""
    keys, values = data.getlist("key"), data.getlist("value")
    attributes: dict[str, str] = {}
    problems: list[str] = []
    for index, key in enumerate(keys):
        value = values[index] if index < len(values) else ""
        key, value = key.strip(), value.strip()
        if not key and not value:
            continue
        if not key:
            problems.append(f"Give the value “{value[:40]}” a name.")
        elif key in attributes:
            problems.append(f"“{key[:40]}” is there twice: keep one.")
        else:
            attributes[key] = value
    if not problems:
        try:
            attributes = normalize_custom_attributes(attributes)
        except ValidationError as error:
            problems.extend(error.messages)
    return attributes, problems


def _linked_to_holder(error: ValidationError) -> list[Any]:
    """The email error, with a link to the lead that already has the address."""
    messages: list[Any] = []
    for item in error.error_dict["email"]:
        lead_id = (item.params or {}).get("lead_id")
        if item.code == "email_taken" and lead_id:
            messages.append(
                format_html(
                    'A lead with this email already exists: <a href="{}" '
                    'data-testid="email-holder">open it</a>.',
                    reverse("lead-detail", args=[lead_id]),
                )
            )
        else:
            messages.extend(item.messages)
    return messages


def parse_ids(values: list[str]) -> list[int]:
    """Ids from checkboxes: anything that is not a positive integer is dropped."""
    ids = []
    for raw in values:
        if (value := parse_id(raw)) is not None:
            ids.append(value)
    return ids
