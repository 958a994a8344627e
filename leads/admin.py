"""Companies, leads and their history in the Django admin, built to stay usable at 1M leads.

- No list ever runs a full-table COUNT: show_full_result_count is off, facets are off and
  the paginator counts at most ``CappedCountPaginator.cap`` rows.
- Lead search filters the denormalised ``search_text`` column (one LIKE per word) instead
  of Django's OR of icontains over four columns and a join.
- Every write goes through ``leads.services`` with ``source=Source.ADMIN``, so status
  changes made here land in the lead's history like those from any other door.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Exists, Model, OuterRef, QuerySet
from django.forms.models import BaseInlineFormSet
from django.utils.functional import cached_property

from leads.models import Company, Lead, LeadEvent, Source, Status
from leads.normalize import normalize_custom_attributes, normalize_domain, normalize_email
from leads.normalize import search_term as normalize_search_term
from leads.services import (
    COMPANY_WRITABLE_FIELDS,
    LEAD_WRITABLE_FIELDS,
    company_create,
    company_domain_check,
    company_update,
    lead_bulk_set_status,
    lead_create,
    lead_delete,
    lead_email_check,
    lead_update,
    leads_delete,
)

# The company autocomplete on a lead's form asks for this owner's companies only.
OWNER_PARAM = "owner"
# History rows shown inline on a lead's page, newest first.
INLINE_EVENTS = 100
# A history entry's fields, all read-only: the services alone write history.
EVENT_INLINE_FIELDS = ("at", "kind", "from_status", "to_status", "source", "provider", "changes")
EVENT_ADMIN_FIELDS = ("lead", "user", "kind", "from_status", "to_status", "source", "provider",
                      "at", "changes")  # fmt: skip
# Companies named on the "cannot delete" page when a selection still has leads.
BLOCKED_COMPANIES_SHOWN = 20


# --- Counting -------------------------------------------------------------------------------


class CappedCount(int):
    """A count that reached the paginator's cap: it prints as ``10000+`` wherever the
    admin shows it ("10000+ leads", "10000+ results", "Select all 10000+ leads")."""

    def __str__(self) -> str:
        return f"{int(self)}+"


class CappedCountPaginator(Paginator):
    """Counts at most ``cap`` rows, so a list over a million rows never runs a full COUNT.

    The count is ``SELECT COUNT(*) FROM (SELECT id … LIMIT cap + 1)``: the database stops
    reading after ``cap + 1`` rows. Past the cap it reports ``cap`` (as a ``CappedCount``),
    so the page links reach ``cap / per_page`` pages; narrow the list with a filter or a
    search to get further.
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        object_list = self.object_list
        if not isinstance(object_list, QuerySet):
            return len(object_list)
        if not object_list.query.is_sliced:
            # Neither the ordering nor the joins of list_select_related change how many
            # rows there are: the subquery reads only ids.
            object_list = object_list.order_by().select_related(None).values("pk")
        found = object_list[: self.cap + 1].count()
        return CappedCount(self.cap) if found > self.cap else found

    @property
    def is_capped(self) -> bool:
        return isinstance(self.count, CappedCount)


# --- Helpers --------------------------------------------------------------------------------


def _positive_int(value) -> int | None:
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return None
    return number if 0 < number < 2**63 else None


def _copy_saved(target: Model, saved: Model) -> None:
    """Make the admin's form instance the object a service saved (ids, timestamps, …)."""
    for field in type(saved)._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


def _has_control_characters(text: str) -> bool:
    return any(ord(ch) < 32 or ord(ch) == 127 for ch in text)


class OwnerListFilter(admin.RelatedFieldListFilter):
    """The ``user`` filter, titled for what it means here."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.title = "owner"


# --- Companies ------------------------------------------------------------------------------


class CompanyAdminForm(forms.ModelForm):
    class Meta:
        model = Company
        fields = ["user", *COMPANY_WRITABLE_FIELDS]

    def clean_domain(self) -> str:
        return normalize_domain(self.cleaned_data.get("domain") or "")

    def clean(self):
        cleaned = super().clean() or {}
        owner = cleaned.get("user") if "user" in self.fields else self.instance.user
        domain = cleaned.get("domain")
        if owner is not None and domain:
            try:
                company_domain_check(user_id=owner.pk, domain=domain, exclude_id=self.instance.pk)
            except ValidationError:
                self.add_error("domain", "This owner already has a company with this domain.")
        return cleaned


def _autocomplete_owner_id(request) -> int | None:
    """The owner a lead form's company autocomplete asked for, if this request is one."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.url_name != "autocomplete":
        return None
    asked_for = (
        request.GET.get("app_label"),
        request.GET.get("model_name"),
        request.GET.get("field_name"),
    )
    if asked_for != (Lead._meta.app_label, Lead._meta.model_name, "company"):
        return None
    return _positive_int(request.GET.get(OWNER_PARAM))


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    form = CompanyAdminForm
    list_display = ["name", "domain", "user", "industry", "country_code", "created_at"]
    list_filter = [("user", OwnerListFilter)]
    # Also what the company autocomplete on a lead's form searches.
    search_fields = ["name", "domain"]
    list_select_related = ["user"]
    ordering = ["-id"]
    sortable_by = ["name", "created_at"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = [
        "user",
        "name",
        "domain",
        "website",
        "industry",
        "size",
        "country_code",
        "created_at",
        "updated_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        readonly = ["created_at", "updated_at"]
        if obj is not None:
            # Moving a company to another owner would strand its leads with the old one.
            readonly.insert(0, "user")
        return readonly

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        owner_id = _autocomplete_owner_id(request)
        if owner_id is not None:
            queryset = queryset.filter(user_id=owner_id)
        return queryset, may_have_duplicates

    def save_model(self, request, obj, form, change):
        data = {f: form.cleaned_data[f] for f in COMPANY_WRITABLE_FIELDS if f in form.cleaned_data}
        if change:
            # The form has already written its values onto obj: compare with the stored row.
            # company_update also refreshes the leads' search text after a rename.
            stored = Company.objects.get(pk=obj.pk)
            saved = company_update(company=stored, data=data)
        else:
            saved = company_create(user=form.cleaned_data["user"], data=data)
        _copy_saved(obj, saved)

    def get_deleted_objects(self, objs, request):
        """Refuse, with the reason, to delete companies that still have leads.

        Leads are protected (on_delete=PROTECT). Django's own check would load every
        protected lead to list it; this names the companies and their lead counts instead.
        """
        selected: Any
        if isinstance(objs, QuerySet):
            selected = objs.order_by().values("pk")
        else:
            selected = [obj.pk for obj in objs]
        blocked = list(
            Company.objects.filter(pk__in=selected)
            .filter(Exists(Lead.objects.filter(company=OuterRef("pk"))))
            .order_by("name", "pk")
            .values_list("pk", "name")[: BLOCKED_COMPANIES_SHOWN + 1]
        )
        if not blocked:
            return super().get_deleted_objects(objs, request)
        shown = blocked[:BLOCKED_COMPANIES_SHOWN]
        counts = dict(
            Lead.objects.filter(company_id__in=[pk for pk, _ in shown])
            .order_by()
            .values("company_id")
            .annotate(n=Count("id"))
            .values_list("company_id", "n")
        )
        protected = [
            f"Company “{name}” still has {counts.get(pk, 0)} lead(s): delete them or move "
            "them to another company first. Deleting a company never deletes its leads."
            for pk, name in shown
        ]
        if len(blocked) > BLOCKED_COMPANIES_SHOWN:
            protected.append("… and more of the selected companies have leads.")
        return [], {}, set(), protected


# --- Leads ----------------------------------------------------------------------------------


class OwnerCompanySelect(AutocompleteSelect):
    """The company autocomplete, asking for the lead owner's companies when it is known."""

    owner_id: int | None = None

    def get_url(self) -> str:
        url = super().get_url()
        if self.owner_id is None:
            return url
        return f"{url}?{urlencode({OWNER_PARAM: self.owner_id})}"


class LeadAdminForm(forms.ModelForm):
    class Meta:
        model = Lead
        fields = ["user", *LEAD_WRITABLE_FIELDS]

    def clean_email(self) -> str:
        return normalize_email(self.cleaned_data.get("email"))

    def clean_score(self):
        score = self.cleaned_data.get("score")
        if score is not None and not 0 <= score <= 100:
            raise ValidationError("The score must be between 0 and 100.")
        return score

    def clean_custom_attributes(self):
        value = self.cleaned_data.get("custom_attributes")
        if value is None:
            return {}
        return normalize_custom_attributes(value)

    def _owner(self):
        if "user" in self.fields:
            return self.cleaned_data.get("user")
        return self.instance.user if self.instance.user_id else None

    def clean(self):
        cleaned = super().clean() or {}
        owner = self._owner()
        if owner is None:
            return cleaned
        company = cleaned.get("company")
        if company is not None and company.user_id != owner.pk:
            self.add_error(
                "company",
                f"“{company}” belongs to another user. A lead's company must belong to the "
                f"lead's owner ({owner}): pick one of {owner}'s companies.",
            )
        try:
            lead_email_check(
                user_id=owner.pk, email=cleaned.get("email") or "", exclude_id=self.instance.pk
            )
        except ValidationError:
            self.add_error("email", f"{owner} already has a lead with this email.")
        return cleaned


class RecentEventsFormSet(BaseInlineFormSet):
    """Only the newest ``INLINE_EVENTS`` entries: a synced lead can gather thousands."""

    def get_queryset(self):
        if not hasattr(self, "_recent_events"):
            self._recent_events = super().get_queryset()[:INLINE_EVENTS]
        return self._recent_events


class LeadEventInline(admin.TabularInline):
    model = LeadEvent
    formset = RecentEventsFormSet
    verbose_name = "history entry"
    verbose_name_plural = f"history (latest {INLINE_EVENTS}, newest first)"
    fields = [*EVENT_INLINE_FIELDS]
    readonly_fields = EVENT_INLINE_FIELDS
    ordering = ["-id"]
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _status_action(status: Status):
    @admin.action(description=f"Mark as {status.label.lower()}", permissions=["change"])
    def action(modeladmin, request, queryset):
        modeladmin.bulk_set_status(request, queryset, status)

    action.__name__ = f"mark_{status.value}"
    return action


@admin.register(Lead)
class LeadAdmin(admin.ModelAdmin):
    form = LeadAdminForm
    list_display = [
        "id",
        "display_name",
        "email",
        "company",
        "status",
        "score",
        "deal_value",
        "do_not_contact",
        "email_status",
        "user",
        "created_at",
    ]
    list_display_links = ["id", "display_name"]
    list_filter = [
        "status",
        "do_not_contact",
        "email_status",
        ("user", OwnerListFilter),
        "created_at",
    ]
    # Only the marker that turns the search box on: get_search_results searches search_text.
    search_fields = ["search_text"]
    search_help_text = (
        "Email, first or last name, or company name (any part, any case); every word must match."
    )
    list_select_related = ["company", "user"]
    ordering = ["-id"]
    # Other columns would sort the whole table without an index.
    sortable_by = ["id", "created_at"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    autocomplete_fields = ["company"]
    inlines = [LeadEventInline]
    actions = [_status_action(status) for status in Status]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["user", "company", "status", "score", "score_is_manual"]}),
            (
                "Contact",
                {
                    "fields": [
                        "first_name",
                        "last_name",
                        "email",
                        "position",
                        "phone",
                        "linkedin_url",
                    ]
                },
            ),
            ("Details", {"fields": ["source", "notes", "custom_attributes"]}),
            (
                "Contact permission and email verification",
                {
                    "fields": [
                        "do_not_contact",
                        "do_not_contact_reason",
                        "email_status",
                        "email_verified_at",
                        "email_verified_by",
                    ],
                    "description": "A do-not-contact lead is never exported to any provider.",
                },
            ),
        ]
        if obj is not None:
            fieldsets.append(
                ("Dates", {"fields": ["created_at", "status_changed_at", "updated_at"]})
            )
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        # The service sets the dates and score_is_manual; the owner is fixed once created.
        readonly = [
            "score_is_manual",
            "created_at",
            "status_changed_at",
            "updated_at",
            # Verification facts come from the providers; a new email resets them.
            "email_status",
            "email_verified_at",
            "email_verified_by",
        ]
        if obj is not None:
            readonly.insert(0, "user")
        return readonly

    @admin.display(description="name")
    def display_name(self, lead: Lead) -> str:
        return lead.full_name or "—"

    # --- search -----------------------------------------------------------------------------

    def get_search_results(self, request, queryset, search_term):
        """Every word must occur in the lead's lower-cased search text.

        One narrow column and no join: ``search_text`` holds first name, last name, email
        and company name, joined by a control character a term may not contain.
        """
        terms = search_term.split()
        if not terms:
            return queryset, False
        if any(_has_control_characters(term) for term in terms):
            messages.warning(request, "Search terms must not contain control characters.")
            return queryset.none(), False
        for term in terms:
            queryset = queryset.filter(search_text__contains=normalize_search_term(term))
        return queryset, False

    # --- forms ------------------------------------------------------------------------------

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "company" and "widget" not in kwargs:
            kwargs["widget"] = OwnerCompanySelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        company_field = form.base_fields.get("company")
        if company_field is not None:
            widget = getattr(company_field.widget, "widget", company_field.widget)
            if isinstance(widget, OwnerCompanySelect):
                if obj is not None:
                    widget.owner_id = obj.user_id
                else:
                    # On the add page, the owner chosen so far (posted, or ?user= in the URL).
                    widget.owner_id = _positive_int(
                        request.POST.get("user") or request.GET.get("user")
                    )
        return form

    def save_model(self, request, obj, form, change):
        """Save through the services, so history, search text and dates stay right."""
        cleaned = form.cleaned_data
        data = {f: cleaned[f] for f in LEAD_WRITABLE_FIELDS if f in cleaned}
        if "score" not in form.changed_data:
            # Only a score someone typed is a manual one.
            data.pop("score", None)
        if change:
            # The form has already written its values onto obj: the service must compare
            # them with the stored row to see what changed.
            stored = Lead.objects.select_related("company").get(pk=obj.pk)
            saved = lead_update(lead=stored, data=data, source=Source.ADMIN, actor=request.user)
        else:
            saved = lead_create(
                user=cleaned["user"],
                company=data.pop("company"),
                data=data,
                source=Source.ADMIN,
            )
        _copy_saved(obj, saved)

    def delete_model(self, request, obj):
        lead_delete(lead=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        leads_delete(leads=queryset, actor=request.user)

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # A lead's history goes with it: the history admin refuses deletes of single entries,
        # which must not stop whoever may delete the lead itself.
        perms_needed.discard(str(LeadEvent._meta.verbose_name))
        return deleted, model_count, perms_needed, protected

    # --- actions ----------------------------------------------------------------------------

    def bulk_set_status(self, request, queryset, status: Status) -> int:
        """Set ``status`` on the selection through the service, one call per owner."""
        ids_by_owner: dict[int, list[int]] = defaultdict(list)
        for user_id, lead_id in (
            queryset.order_by().values_list("user_id", "id").iterator(chunk_size=5000)
        ):
            ids_by_owner[user_id].append(lead_id)
        owners = get_user_model().objects.in_bulk(list(ids_by_owner))
        changed = 0
        for user_id, lead_ids in ids_by_owner.items():
            changed += lead_bulk_set_status(
                user=owners[user_id], lead_ids=lead_ids, status=status, source=Source.ADMIN
            )
        selected = sum(len(ids) for ids in ids_by_owner.values())
        message = f"Marked {changed} lead(s) as {status.label.lower()}."
        if selected > changed:
            message += f" {selected - changed} already had that status."
        self.message_user(request, message, messages.SUCCESS)
        return changed


# --- History --------------------------------------------------------------------------------


@admin.register(LeadEvent)
class LeadEventAdmin(admin.ModelAdmin):
    """The history, read-only: it is written by the services alone."""

    list_display = ["id", "lead", "transition", "kind", "source", "provider", "at"]
    list_filter = ["source", "kind"]
    list_select_related = ["lead"]
    ordering = ["-id"]
    sortable_by = ["id"]
    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = [*EVENT_ADMIN_FIELDS]
    readonly_fields = EVENT_ADMIN_FIELDS

    @admin.display(description="status")
    def transition(self, event: LeadEvent) -> str:
        return f"{event.from_status or '—'} → {event.to_status}"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# The users' admin (delete offers reassign) and the teams' admin.
from leads import admin_teams, admin_users  # noqa: E402,F401
