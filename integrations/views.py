"""Integrations pages: connect a provider, test it, pick lists, schedule, run and watch syncs.

Thin doors onto integrations.services and integrations.engine, like the API: a run started
here is the same run the API or the scheduler starts.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm.htmx import HtmxRequest
from crm.ids import ascii_digits, parse_id
from crm.redirects import safe_next
from integrations import crypto, engine, selectors, services
from integrations.http import ProviderError
from integrations.models import (
    ImportTombstone,
    Integration,
    Provider,
    Schedule,
    SyncFailure,
    SyncRun,
)
from integrations.registry import provider_spec
from integrations.serializers import validate_credentials
from integrations.spec import CREDENTIAL_LABELS, ProviderSpec
from integrations.tombstones import tombstone_restore
from leads.pages.assignment import AssignmentForm
from leads.scope import Scope


class SettingsForm(AssignmentForm):
    import_list_id = forms.ChoiceField(required=False, label="Import from")
    export_target = forms.ChoiceField(required=False, label="Export to")
    schedule = forms.ChoiceField(choices=Schedule.choices, label="Schedule")

    def __init__(self, *args, user, lists=None, **kwargs):
        super().__init__(*args, user=user, **kwargs)
        lists = lists or []
        none = [("", "— choose —")]
        fields: Any = self.fields
        fields["import_list_id"].choices = none + [
            (item.id, f"{item.name} ({item.count})" if item.count is not None else item.name)
            for item in lists
        ]
        fields["export_target"].choices = none + [
            (target_value(item.kind, item.id), f"{item.name} ({item.kind})") for item in lists
        ]


def target_value(kind: str, vendor_id: object) -> str:
    """An export target as one option value, ``kind:id``; an id that already says its kind
    (Instantly's ``campaign:<uuid>``) is not prefixed twice."""
    text = str(vendor_id)
    return text if text.startswith(f"{kind}:") else f"{kind}:{text}"


def _settings_form(spec: ProviderSpec) -> type[SettingsForm]:
    """The settings form with the vendor's own option fields (ProviderSpec.options_form)."""
    if spec.options_form is None:
        return SettingsForm
    return type(f"{spec.key.title()}SettingsForm", (SettingsForm, spec.options_form()), {})


def _user_integration(user, integration_id: int) -> Integration:
    return selectors.integration_get(user=user, integration_id=integration_id)


def _credential_values(request: HttpRequest, provider: str) -> dict[str, str]:
    return {name: request.POST.get(name, "") for name in provider_spec(provider).credential_fields}


def _credential_errors(provider: str, values: dict[str, str]) -> list[str]:
    from rest_framework.exceptions import ValidationError

    try:
        validate_credentials(provider, values)
    except ValidationError as exc:
        detail: Any = exc.detail
        return [str(message) for message in detail["credentials"]]
    return []


@login_required
def integration_list(request: HttpRequest) -> HttpResponse:
    connected = {i.provider: i for i in Scope.of(request.user).own(Integration)}
    providers = [
        {
            "key": provider.value,
            "label": provider_spec(provider).label,
            "integration": connected.get(provider.value),
            "fields": [
                (name, CREDENTIAL_LABELS[name])
                for name in provider_spec(provider).credential_fields
            ],
            "help": provider_spec(provider).credential_help,
        }
        for provider in Provider
    ]
    runs = Scope.of(request.user).own(SyncRun).order_by("-id")[:15]
    return render(request, "integrations/list.html", {"providers": providers, "runs": runs})


@login_required
@require_POST
def integration_connect(request: HttpRequest, provider: str) -> HttpResponse:
    if provider not in Provider.values:
        raise Http404
    values = _credential_values(request, provider)
    errors = _credential_errors(provider, values)
    existing = Scope.of(request.user).own(Integration).filter(provider=provider).first()
    if errors:
        for error in errors:
            messages.error(request, f"{provider_spec(provider).label}: {error}")
        return redirect("integration-list")
    cleaned = {name: value.strip() for name, value in values.items()}
    if existing is None:
        integration = services.integration_create(
            user=request.user, provider=provider, credentials=cleaned, settings={}
        )
    else:
        integration = services.integration_update(integration=existing, credentials=cleaned)
    ok, detail = services.integration_test(integration=integration)
    if ok:
        messages.success(
            request, f"{provider_spec(provider).label} connected: the credentials work."
        )
    else:
        messages.error(
            request, f"{provider_spec(provider).label} saved, but the test failed: {detail}"
        )
    return redirect("integration-detail", id=integration.pk)


@login_required
def integration_detail(request: HttpRequest, id: int) -> HttpResponse:
    integration = _user_integration(request.user, id)
    lists, lists_error = [], ""
    try:
        lists = services.integration_lists(integration=integration)
    except (ProviderError, crypto.DecryptionError) as exc:
        lists_error = getattr(exc, "message", str(exc))
    return _detail_page(request, integration, lists=lists, lists_error=lists_error)


def _detail_page(
    request: HttpRequest,
    integration: Integration,
    *,
    lists: list,
    lists_error: str = "",
    form: SettingsForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The integration's page; with ``form``, the settings as submitted (and refused)."""
    export_target = ""
    if integration.export_campaign_id not in (None, ""):
        export_target = target_value("campaign", integration.export_campaign_id)
    elif integration.export_list_id not in (None, ""):
        export_target = target_value("list", integration.export_list_id)
    spec = integration.spec
    options = (
        spec.options_form().initial_from(integration.options or {}) if spec.options_form else {}
    )
    if form is None:
        form = _settings_form(spec)(
            lists=lists,
            user=request.user,
            initial={
                "import_list_id": ""
                if integration.import_list_id is None
                else integration.import_list_id,
                "export_target": export_target,
                "schedule": integration.schedule,
                "assign": integration.assign,
                "assign_to": [str(pk) for pk in integration.assign_to or []],
                **options,
            },
        )
    runs = SyncRun.objects.filter(integration=integration).order_by("-id")[:20]
    active = [run for run in runs if run.is_active]
    deleted = ImportTombstone.objects.filter(integration=integration).count()
    return render(
        request,
        "integrations/detail.html",
        {
            "integration": integration,
            "label": provider_spec(integration.provider).label,
            "form": form,
            "option_fields": [form[name] for name in integration.spec.options],
            "lists_error": lists_error,
            "runs": runs,
            "active": active,
            "deleted": deleted,
            "fields": [
                (name, CREDENTIAL_LABELS[name])
                for name in provider_spec(integration.provider).credential_fields
            ],
        },
        status=status,
    )


@login_required
@require_POST
def integration_settings(request: HttpRequest, id: int) -> HttpResponse:
    integration = _user_integration(request.user, id)
    lists = []
    try:
        lists = services.integration_lists(integration=integration)
    except (ProviderError, crypto.DecryptionError) as exc:
        messages.error(request, f"Could not read the lists: {getattr(exc, 'message', exc)}")
        return redirect("integration-detail", id=id)
    form = _settings_form(integration.spec)(request.POST, lists=lists, user=request.user)
    if not form.is_valid():
        # Nothing is saved; the page comes back with the choices as submitted.
        for field, errors in form.errors.items():
            text = " ".join(str(error) for error in errors)
            messages.error(request, f"{form.fields[field].label}: {text}")
        return _detail_page(request, integration, lists=lists, form=form, status=400)
    data = form.cleaned_data
    kind, _, target = data["export_target"].partition(":")
    # The vendor's own id for the chosen option (as the client lists it).
    offered = {target_value(item.kind, item.id): item.id for item in lists}
    if data["export_target"] in offered:
        target = str(offered[data["export_target"]])
    by_id = {item.id: item for item in lists}
    import_id = data["import_list_id"] or None
    settings = {
        # Keep the vendor's own id type (Hunter's list ids are integers).
        "import_list_id": _vendor_id(import_id),
        "export_list_id": _vendor_id(target) if kind == "list" else None,
        "export_campaign_id": _vendor_id(target) if kind == "campaign" else None,
        "schedule": data["schedule"],
    }
    for name in integration.spec.options:
        settings[name] = data[name]
    settings.update(form.assignment())
    if import_id and import_id not in by_id:
        messages.error(request, "That import list is no longer offered by the vendor.")
        return redirect("integration-detail", id=id)
    services.integration_update(integration=integration, settings=settings)
    messages.success(request, "Settings saved.")
    return redirect("integration-detail", id=id)


def _vendor_id(value: str | None) -> int | str | None:
    if not value:
        return None
    return int(value) if ascii_digits(value) else value


@login_required
@require_POST
def integration_test(request: HttpRequest, id: int) -> HttpResponse:
    integration = _user_integration(request.user, id)
    ok, detail = services.integration_test(integration=integration)
    if ok:
        messages.success(request, "Connection works.")
    else:
        messages.error(request, f"Connection failed: {detail}")
    return redirect("integration-detail", id=id)


@login_required
@require_POST
def integration_disconnect(request: HttpRequest, id: int) -> HttpResponse:
    integration = _user_integration(request.user, id)
    label = provider_spec(integration.provider).label
    services.integration_delete(integration=integration)
    messages.success(request, f"{label} disconnected. Your leads stay.")
    return redirect("integration-list")


def _export_counts(integration: Integration) -> tuple[int, int]:
    """(leads an "Export all" sends, leads it holds back), as the engine selects: do-not-contact
    leads and emails known to bounce are never sent."""
    counts = (
        Scope.of_user_id(integration.user_id)
        .leads()
        .aggregate(total=Count("id"), held=Count("id", filter=engine.held_back_q()))
    )
    return counts["total"] - counts["held"], counts["held"]


@login_required
def integration_export_confirm(request: HttpRequest, id: int) -> HttpResponse:
    """ "Export all leads" asks first, saying how many leads will go."""
    integration = _user_integration(request.user, id)
    sending, skipped = _export_counts(integration)
    return render(
        request,
        "integrations/export_confirm.html",
        {
            "integration": integration,
            "label": provider_spec(integration.provider).label,
            "sending": sending,
            "skipped": skipped,
        },
    )


@login_required
@require_POST
def integration_start(request: HttpRequest, id: int, direction: str) -> HttpResponse:
    if direction not in SyncRun.Direction.values:
        raise Http404
    integration = _user_integration(request.user, id)
    if integration.state == Integration.State.NEEDS_CREDENTIALS:
        messages.error(
            request,
            f"{provider_spec(integration.provider).label} refused the saved credentials: enter new "
            "ones or test the connection before running a sync.",
        )
        return redirect("integration-detail", id=id)
    if direction == SyncRun.Direction.EXPORT and request.POST.get("confirmed") != "1":
        # Every lead at once goes only after the confirmation page said how many.
        return redirect("integration-export-confirm", id=id)
    try:
        services.sync_start(integration=integration, direction=direction)
    except engine.RunAlreadyActive as exc:
        messages.error(request, f"An {direction} is already {exc.run.state}.")
    return redirect("integration-detail", id=id)


DELETED_PAGE = 200


@login_required
def integration_deleted(request: HttpRequest, id: int) -> HttpResponse:
    """The vendor records whose leads a person deleted, which imports skip: restore them here."""
    integration = _user_integration(request.user, id)
    tombstones = ImportTombstone.objects.filter(integration=integration).select_related(
        "deleted_by"
    )
    return render(
        request,
        "integrations/deleted.html",
        {
            "integration": integration,
            "label": provider_spec(integration.provider).label,
            "tombstones": tombstones.order_by("-deleted_at", "-id")[:DELETED_PAGE],
            "count": tombstones.count(),
            "page_size": DELETED_PAGE,
        },
    )


@login_required
@require_POST
def integration_deleted_restore(request: HttpRequest, id: int) -> HttpResponse:
    integration = _user_integration(request.user, id)
    label = provider_spec(integration.provider).label
    if request.POST.get("all") == "1":
        restored = tombstone_restore(integration=integration)
    else:
        ids = [parse_id(raw) for raw in request.POST.getlist("ids")]
        if not ids or None in ids:
            messages.error(request, "Choose the records to restore (tick their boxes).")
            return redirect("integration-deleted", id=id)
        restored = tombstone_restore(
            integration=integration, tombstone_ids=[i for i in ids if i is not None]
        )
    messages.success(
        request,
        f"{restored} record{'s' if restored != 1 else ''} restored: the next import from "
        f"{label} brings {'them' if restored != 1 else 'it'} back as new leads.",
    )
    return redirect("integration-deleted", id=id)


@login_required
def run_progress(request: HttpRequest, id: int) -> HttpResponse:
    """The live progress partial; htmx polls it while the run is active."""
    run = selectors.run_get(user=request.user, run_id=id)
    return render(request, "integrations/_run.html", {"run": run})


@login_required
@require_POST
def run_cancel(request: HtmxRequest, id: int) -> HttpResponse:
    run = selectors.run_get(user=request.user, run_id=id)
    run = engine.run_cancel(run=run)
    if request.htmx:
        return render(request, "integrations/_run.html", {"run": run})
    return redirect("integration-detail", id=run.integration_id)


@login_required
def run_detail(request: HttpRequest, id: int) -> HttpResponse:
    run = selectors.run_get(user=request.user, run_id=id)
    # The lead of each failure, for its name and a link (one query: no lookup per row).
    failures = SyncFailure.objects.filter(run=run).select_related("lead").order_by("id")[:500]
    return render(
        request,
        "integrations/run.html",
        {"run": run, "failures": failures, "label": provider_spec(run.provider).label},
    )


@login_required
@require_POST
def export_selected(request: HttpRequest) -> HttpResponse:
    """Export chosen leads (``lead_ids``) or the list's current filters to one integration."""
    from leads.filters import LeadFilterSet

    integration = _user_integration(request.user, _int_or_404(request.POST.get("integration")))
    back = safe_next(request, "/leads/")
    chosen = request.POST.getlist("lead_ids") or request.POST.getlist("ids")  # list checkboxes
    if chosen:
        # Checked boxes that name no lead (or nonsense) export nothing, never the whole list.
        ids = [value for value in map(parse_id, chosen) if value is not None]
        owned = sorted(
            Scope.of(request.user).leads().filter(id__in=ids).values_list("id", flat=True)
        )
        if not owned:
            messages.error(request, "None of the selected leads exist any more.")
            return redirect(back)
        params: dict = {"lead_ids": owned}
    else:
        filters = {
            k: v for k, v in request.POST.items() if k in LeadFilterSet.base_filters and v != ""
        }
        if not LeadFilterSet(data=filters).is_valid():
            messages.error(request, "The list's filters are not valid; nothing was exported.")
            return redirect(back)
        params = {"filters": filters} if filters else {}
    try:
        run = services.sync_start(
            integration=integration, direction=SyncRun.Direction.EXPORT, params=params
        )
    except engine.RunAlreadyActive as exc:
        messages.error(request, f"An export to this provider is already {exc.run.state}.")
        return redirect(back)
    label = provider_spec(integration.provider).label
    messages.success(request, f"Export #{run.pk} to {label} started.")
    return redirect("integration-detail", id=integration.pk)


def _int_or_404(value: str | None) -> int:
    number = parse_id(value)
    if number is None:
        raise Http404
    return number
