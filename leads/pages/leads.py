"""Web pages for leads and companies: validate, call a service or a selector, render.

Writes go through leads.services with ``source=Source.UI``, so a change made here lands in
the same history as one made through the API.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.views.decorators.http import require_http_methods, require_POST

from crm.htmx import HtmxRequest
from crm.ids import parse_id
from crm.money import money
from crm.redirects import safe_next
from leads import bulk_jobs, page_selectors, reassign, services
from leads.filters import LeadFilterSet
from leads.list_columns import LIST_COLUMNS
from leads.models import EmailStatus, Lead, LeadBulkJob, Source, Status
from leads.pages.forms import (
    INLINE_FIELDS,
    NEW_COMPANY,
    BulkForm,
    ColumnsForm,
    CompanyForm,
    LeadCreateForm,
    LeadForm,
    StatusForm,
    custom_attributes_from_post,
    field_label,
)
from leads.scope import Scope
from leads.selectors import LeadFilters

PAGE_SIZE = 50
FILTER_NAMES = (
    "q",
    "status",
    "do_not_contact",
    "email_status",
    "company_id",
    "min_score",
    "max_score",
    "created_after",
    "created_before",
    "user_id",
)
STATUSES = [{"value": s.value, "label": s.label} for s in Status]


def _cursor(raw: str | None) -> int | None:
    """A keyset cursor from the query string; a broken one just restarts at the first page."""
    if (cursor := parse_id(raw)) is not None:
        return cursor
    return None


def _query_with(query: QueryDict, **changes: Any) -> str:
    """The query string with ``changes`` applied (None removes) and blank values dropped."""
    params = query.copy()
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = str(value)
    for name in list(params):
        if all(v == "" for v in params.getlist(name)):
            del params[name]
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else ""


# --- Leads list -------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD"])
def lead_list(request: HttpRequest) -> HttpResponse:
    filterset = LeadFilterSet(request.GET)
    order = request.GET.get("order")
    if order not in page_selectors.ORDERS:
        order = page_selectors.ORDER_NEWEST
    cursor = _cursor(request.GET.get("cursor"))
    before = _cursor(request.GET.get("before")) if cursor is None else None
    errors = filterset.errors if not filterset.is_valid() else {}
    page = None
    matches = None
    has_any = True
    filtered = any(request.GET.get(name, "").strip() for name in FILTER_NAMES)
    columns = page_selectors.lead_list_columns(user=request.user)
    if not errors:
        filters = LeadFilters.from_cleaned(filterset.form.cleaned_data)
        page = page_selectors.lead_page(
            user=request.user,
            filters=filters,
            cursor=cursor,
            before=before,
            order=order,
            limit=PAGE_SIZE,
        )
        matches = page_selectors.lead_match_count(user=request.user, filters=filters)
        page_selectors.lead_page_columns(user=request.user, page=page, columns=columns)
        # Unfiltered, the count is of every lead: none means a new user, not "no match".
        has_any = filtered or matches.count > 0
    selected_company = filterset.form.data.get("company_id", "")
    # The first companies by name (and the chosen one); the search box finds any other.
    companies, companies_truncated = page_selectors.company_options(
        user=request.user, q="", include_id=parse_id(selected_company)
    )
    context = {
        "page": page,
        "members": page_selectors.team_members(user=request.user),
        "owners": page_selectors.team_owners(user=request.user),
        "matches": matches,
        # The filters, carried in the bulk form for "select all N matching".
        "carried": [
            (MATCHING_PREFIX + name, request.GET[name])
            for name in FILTER_NAMES
            if request.GET.get(name, "").strip()
        ],
        "shown": dict.fromkeys(columns, True),
        "column_choices": [
            {"name": name, "label": label, "checked": name in columns}
            for name, label in LIST_COLUMNS.items()
        ],
        "errors": errors,
        "values": {name: request.GET.get(name, "") for name in FILTER_NAMES},
        "order": order,
        "orders": page_selectors.ORDERS,
        "order_label": page_selectors.ORDERS[order],
        "statuses": STATUSES,
        "email_statuses": EmailStatus.choices,
        "companies": companies,
        "companies_truncated": companies_truncated,
        "filtered": filtered,
        "has_any": has_any,
        # Not the first page: it offers the way back to it.
        "cursor": cursor is not None or bool(page and page.prev_cursor),
        "next_query": (
            _query_with(request.GET, before=None, cursor=page.next_cursor)
            if page and page.next_cursor
            else ""
        ),
        "prev_query": (
            _query_with(request.GET, cursor=None, before=page.prev_cursor)
            if page and page.prev_cursor
            else ""
        ),
        "first_query": _query_with(request.GET, cursor=None, before=None),
        "sort_query": _query_with(
            request.GET,
            cursor=None,
            before=None,
            order=(
                page_selectors.ORDER_OLDEST
                if order == page_selectors.ORDER_NEWEST
                else page_selectors.ORDER_NEWEST
            ),
        ),
        "here": request.get_full_path(),
        # The filters alone (no cursor, no order): what CSV export takes.
        "filter_query": urlencode(
            {name: request.GET[name] for name in FILTER_NAMES if request.GET.get(name)}
        ),
    }
    return render(request, "leads/list.html", context)


@login_required
@require_POST
def lead_bulk(request: HttpRequest) -> HttpResponse:
    back = safe_next(request, reverse("lead-list"))
    if request.POST.get("all_matching") == "1":
        return _bulk_all_matching(request, back)
    form = BulkForm(request.POST)
    if not form.is_valid():
        for error in form.non_field_errors() or ["Choose an action."]:
            messages.error(request, str(error))
        return redirect(back)
    action = form.cleaned_data["action"]
    if action == "status":
        status = form.cleaned_data["status"]
        changed = services.lead_bulk_set_status(
            user=request.user, lead_ids=form.ids, status=status, source=Source.UI
        )
        label = Status(status).label
        skipped = len(form.ids) - changed
        text = f"{changed} lead{'s' if changed != 1 else ''} moved to {label}."
        if skipped:
            text += f" {skipped} already had that status or no longer exist."
        messages.success(request, text)
        return redirect(back)
    if action == "assign":
        _assign(request, Scope.of(request.user).leads().filter(pk__in=form.ids),
                form.cleaned_data["to_user"])  # fmt: skip
        return redirect(back)
    if not form.cleaned_data["confirm"]:
        rows = page_selectors.leads_for_confirmation(user=request.user, lead_ids=form.ids)
        return render(request, "leads/bulk_delete.html", {"rows": rows, "next": back})
    deleted = services.leads_delete(
        leads=page_selectors.leads_owned(user=request.user, lead_ids=form.ids), actor=request.user
    )
    messages.success(request, f"{deleted} lead{'s' if deleted != 1 else ''} deleted.")
    return redirect(back)


@login_required
@require_POST
def lead_columns(request: HttpRequest) -> HttpResponse:
    """Save which optional columns the leads list shows for this person."""
    back = safe_next(request, reverse("lead-list"))
    form = ColumnsForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for e in form.errors["columns"]))
        return redirect(back)
    chosen = services.lead_list_columns_save(
        user=request.user, columns=form.cleaned_data["columns"]
    )
    labels = ", ".join(LIST_COLUMNS[name] for name in chosen) or "none"
    messages.success(request, f"Columns saved: {labels}.")
    return redirect(back)


# Where the list's filters travel in the bulk form: "status" there is the new status.
MATCHING_PREFIX = "f_"


def _bulk_all_matching(request: HttpRequest, back: str) -> HttpResponse:
    """A bulk action on every lead matching the list's filters (sent with the form, and
    evaluated again here through the scope: never ids from the browser)."""
    action = request.POST.get("action", "")
    status = request.POST.get("status", "")
    try:
        matching = bulk_jobs.matching_from_query(request.POST, prefix=MATCHING_PREFIX)
        if action == "assign":
            # A manager hands every matching lead to one member: one reassignment, all or
            # nothing, as POST /v1/leads/reassign by filters does (100,000 leads in seconds).
            to_user_id = parse_id(request.POST.get("to_user", ""))
            if to_user_id is None:
                raise ValidationError("Choose who the leads go to.")
            if request.POST.get("confirm") != "on":
                return _confirm_assign_matching(request, matching, to_user_id, back)
            _assign(
                request,
                bulk_jobs.leads_matching(user=request.user, filters=matching.filters),
                to_user_id,
            )
            return redirect(back)
        if action not in LeadBulkJob.Action.values:
            raise ValidationError("Choose an action.")
        if action == LeadBulkJob.Action.STATUS and status not in Status.values:
            raise ValidationError("Choose the new status first.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(back)
    if action == LeadBulkJob.Action.DELETE and request.POST.get("confirm") != "on":
        context = _matching_confirmation(request, matching, back)
        context["background"] = context["count"] > bulk_jobs.INLINE_LIMIT
        return render(request, "leads/bulk_delete_matching.html", context)
    outcome = bulk_jobs.lead_bulk_matching(
        user=request.user, action=action, status=status, matching=matching
    )
    if outcome.job is not None:
        return redirect("lead-bulk-job", id=outcome.job.pk)
    n = outcome.changed or 0
    if action == LeadBulkJob.Action.DELETE:
        messages.success(request, f"{n:,} lead{'s' if n != 1 else ''} deleted.")
    else:
        text = f"{n:,} lead{'s' if n != 1 else ''} moved to {Status(status).label}."
        messages.success(request, text)
    return redirect(back)


def _matching_confirmation(
    request: HttpRequest, matching: bulk_jobs.Matching, back: str
) -> dict[str, Any]:
    """What leads/matching_confirm_base.html needs: how many leads match, where to go back,
    and the filters carried for the confirming POST."""
    return {
        "count": bulk_jobs.matching_count(user=request.user, filters=matching.filters),
        "next": back,
        "carried": [(MATCHING_PREFIX + k, v) for k, v in matching.query.items()],
    }


def _confirm_assign_matching(
    request: HttpRequest, matching: bulk_jobs.Matching, to_user_id: int, back: str
) -> HttpResponse:
    """How many leads would go to whom, before they do: every page's matches is more than
    the eye checked. The member is checked first, so the page never names someone outside
    the team."""
    if not Scope.of(request.user).is_manager:
        raise Http404
    target = reassign.reassign_target(actor=request.user, to_user_id=to_user_id)
    context = _matching_confirmation(request, matching, back)
    context.update(to_user=target.pk, to_name=reassign.display_name(target))
    return render(request, "leads/bulk_assign_matching.html", context)


@login_required
@require_http_methods(["GET", "HEAD"])
def lead_bulk_job(request: HtmxRequest, id: int) -> HttpResponse:
    """A bulk job's progress (htmx polls the section while the job is active)."""
    job = bulk_jobs.lead_bulk_job_get(user=request.user, job_id=id)
    context = {
        "job": job,
        "percent": round(100 * job.processed / job.total) if job.total else 0,
        "status_label": Status(job.to_status).label if job.to_status else "",
    }
    template = "leads/_bulk_job.html" if request.htmx else "leads/bulk_job.html"
    return render(request, template, context)


@login_required
@require_POST
def lead_bulk_job_cancel(request: HttpRequest, id: int) -> HttpResponse:
    job = bulk_jobs.lead_bulk_job_get(user=request.user, job_id=id)
    if bulk_jobs.lead_bulk_job_cancel(job=job):
        messages.success(
            request,
            f"Cancelled after {job.processed:,} of {job.total:,} leads; "
            "the leads already done stay done.",
        )
    else:
        messages.info(request, "This job had already finished; nothing was changed.")
    return redirect("lead-bulk-job", id=job.pk)


# --- Create -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def lead_create(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = LeadCreateForm(request.POST, user=request.user)
        if form.is_valid():
            lead = form.save()
            messages.success(request, f"Lead “{lead}” created.")
            return redirect("lead-detail", id=lead.pk)
        status = 422
    else:
        initial = {}
        company = request.GET.get("company", "")
        if parse_id(company) is not None:
            initial["company"] = company
        form = LeadCreateForm(user=request.user, initial=initial)
        status = 200
    return render(request, "leads/create.html", {"form": form}, status=status)


# --- Lead page --------------------------------------------------------------------------------


def _display(lead: Lead, name: str) -> str:
    if name == "company":
        return lead.company.name
    value = getattr(lead, name)
    if name == "deal_value":
        return money(value)
    if name == "expected_close_date" and value is not None:
        return date_format(value, "j M Y")
    return "" if value is None else str(value)


def _contact_href(name: str, value: str) -> str:
    """Where a contact value opens: mail, a call, the profile (only a web address: never a
    ``javascript:`` one); empty when it opens nothing."""
    if not value:
        return ""
    if name == "email":
        return "mailto:" + value
    if name == "phone":
        dialled = "".join(ch for ch in value if ch.isascii() and (ch.isdigit() or ch == "+"))
        return "tel:" + dialled if any(ch.isdigit() for ch in dialled) else ""
    if name == "linkedin_url":
        if value.lower().startswith(("https://", "http://")):
            return value
        if value.lower().startswith(("linkedin.com/", "www.linkedin.com/")):
            return "https://" + value
    return ""


def _field_context(lead: Lead, name: str, form: LeadForm | None = None) -> dict[str, Any]:
    value = _display(lead, name)
    return {
        "lead": lead,
        "name": name,
        "label": field_label(name),
        "value": value,
        "href": _contact_href(name, value),
        "form": form,
        "bound": form[name] if form is not None else None,
    }


def _edit_form(request: HttpRequest, lead: Lead, name: str) -> LeadForm:
    initial = {name: lead.company_id if name == "company" else getattr(lead, name)}
    return LeadForm(user=request.user, lead=lead, only=name, initial=initial)


def _detail(
    request: HttpRequest,
    lead: Lead,
    *,
    editing: dict[str, LeadForm] | None = None,
    status: int = 200,
    ask_reason: bool = False,
) -> HttpResponse:
    editing = editing or {}
    edit_name = request.GET.get("edit")
    if edit_name in INLINE_FIELDS and edit_name not in editing:
        editing[edit_name] = _edit_form(request, lead, edit_name)
    members = page_selectors.team_members(user=request.user)
    context = {
        "lead": lead,
        "fields": [_field_context(lead, name, editing.get(name)) for name in INLINE_FIELDS],
        "statuses": STATUSES,
        "ask_reason": ask_reason,
        # A manager hands the lead to someone else in the team ("Assign to…").
        "members": members,
        "owner_name": page_selectors.owner_name(lead=lead) if members else "",
        "timeline": page_selectors.lead_timeline(user=request.user, lead_id=lead.pk),
        "links": page_selectors.lead_external_links(lead=lead),
        # Without JavaScript, ?attributes=edit opens the attribute editor in the page.
        "attributes_editing": request.GET.get("attributes") == "edit",
        "attribute_rows": _attribute_rows(lead.custom_attributes or {}),
    }
    return render(request, "leads/detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD"])
def lead_detail(request: HttpRequest, id: int) -> HttpResponse:
    lead = page_selectors.lead_detail(user=request.user, lead_id=id)
    return _detail(request, lead)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def lead_field(request: HtmxRequest, id: int, name: str) -> HttpResponse:
    """One field of the lead page: shown, edited, saved (htmx swaps it in place)."""
    lead = page_selectors.lead_detail(user=request.user, lead_id=id)
    if name not in INLINE_FIELDS:
        raise Http404
    if request.method != "POST":
        form = _edit_form(request, lead, name) if request.GET.get("edit") else None
        return render(request, "leads/_field.html", {"f": _field_context(lead, name, form)})
    form = LeadForm(request.POST, user=request.user, lead=lead, only=name)
    if not form.is_valid():
        if request.htmx:
            return render(
                request, "leads/_field.html", {"f": _field_context(lead, name, form)}, status=422
            )
        return _detail(request, lead, editing={name: form}, status=422)
    lead = services.lead_update(
        lead=lead, data=form.cleaned_data, source=Source.UI, actor=request.user
    )
    if not request.htmx:
        messages.success(request, f"{field_label(name)} saved.")
        return redirect("lead-detail", id=lead.pk)
    context = {"f": _field_context(lead, name), "saved": True, "lead": lead}
    return render(request, "leads/_field.html", context)


ATTRIBUTE_BLANK_ROWS = 3


def _attribute_rows(attributes: dict[str, str], blank: int = ATTRIBUTE_BLANK_ROWS) -> list:
    return [*attributes.items(), *[("", "")] * blank]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def lead_attributes(request: HtmxRequest, id: int) -> HttpResponse:
    """The lead's custom attributes: shown, edited as name/value rows, saved with history."""
    lead = page_selectors.lead_detail(user=request.user, lead_id=id)
    if request.method != "POST":
        context = {"lead": lead, "editing": bool(request.GET.get("edit"))}
        context["rows"] = _attribute_rows(lead.custom_attributes or {})
        return render(request, "leads/_attributes.html", context)
    attributes, problems = custom_attributes_from_post(request.POST)
    if problems:
        rows = list(zip(request.POST.getlist("key"), request.POST.getlist("value"), strict=False))
        context = {"lead": lead, "editing": True, "rows": rows, "problems": problems}
        return render(request, "leads/_attributes.html", context, status=422)
    lead = services.lead_update(
        lead=lead, data={"custom_attributes": attributes}, source=Source.UI, actor=request.user
    )
    if not request.htmx:
        messages.success(request, "Custom attributes saved.")
        return redirect("lead-detail", id=lead.pk)
    context = {
        "lead": lead,
        "editing": False,
        "saved": True,
        "timeline": page_selectors.lead_timeline(user=request.user, lead_id=lead.pk),
    }
    return render(request, "leads/_attributes.html", context)


@login_required
@require_POST
def lead_status(request: HtmxRequest, id: int) -> HttpResponse:
    lead = page_selectors.lead_detail(user=request.user, lead_id=id)
    form = StatusForm(request.POST)
    if not form.is_valid():
        message = "; ".join(str(e) for errors in form.errors.values() for e in errors)
        if request.htmx:
            return HttpResponse(message or "Choose one of the statuses.", status=400)
        messages.error(request, message or "Choose one of the statuses.")
        return redirect("lead-detail", id=lead.pk)
    status = form.cleaned_data["status"]
    context: dict[str, Any] = {"lead": lead, "statuses": STATUSES}
    if status == Status.LOST and lead.status != Status.LOST and not form.cleaned_data["confirm"]:
        # Ask why first (optional); the answer is kept on the history entry.
        context["ask_reason"] = True
        if not request.htmx:
            return _detail(request, lead, ask_reason=True)
        return render(request, "leads/_status.html", context)
    lead = services.lead_set_status(
        lead=lead,
        status=status,
        source=Source.UI,
        reason=form.cleaned_data["reason"],
        actor=request.user,
    )
    if not request.htmx:
        messages.success(request, f"Status set to {lead.get_status_display()}.")
        return redirect("lead-detail", id=lead.pk)
    context.update(
        {
            "lead": lead,
            "timeline": page_selectors.lead_timeline(user=request.user, lead_id=lead.pk),
            "oob": True,
        }
    )
    return render(request, "leads/_status.html", context)


@login_required
@require_POST
def lead_contact(request: HttpRequest, id: int) -> HttpResponse:
    """Mark a lead do-not-contact (with a reason) or clear the mark."""
    lead = page_selectors.lead_detail(user=request.user, lead_id=id)
    action = request.POST.get("action")
    if action not in {"mark", "clear"}:
        messages.error(request, "Choose to mark the lead do-not-contact or to clear the mark.")
        return redirect("lead-detail", id=lead.pk)
    reason = (request.POST.get("reason") or "").strip()[:255]
    if action == "mark":
        data = {"do_not_contact": True, "do_not_contact_reason": reason or "marked by hand"}
    else:
        data = {"do_not_contact": False}
    services.lead_update(lead=lead, data=data, source=Source.UI, actor=request.user)
    messages.success(
        request,
        "Marked do-not-contact: no export will send this lead."
        if action == "mark"
        else "Do-not-contact cleared: exports include this lead again.",
    )
    return redirect("lead-detail", id=lead.pk)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def lead_delete(request: HttpRequest, id: int) -> HttpResponse:
    lead = page_selectors.lead_detail(user=request.user, lead_id=id)
    if request.method == "POST":
        label = str(lead)
        services.lead_delete(lead=lead, actor=request.user, scope=Scope.of(request.user))
        messages.success(request, f"Lead “{label}” deleted.")
        return redirect("lead-list")
    return render(request, "leads/delete.html", {"lead": lead})


# --- Companies --------------------------------------------------------------------------------


def _search_term(raw: str) -> str:
    q = raw.strip()[:200]
    return "".join(ch for ch in q if ord(ch) >= 32)


# The empty first option each company <select> has, by the ``empty`` parameter.
COMPANY_EMPTY_LABELS = {"any": "Any company", "new": "Choose a company…"}
# Options after the empty one, by the same parameter: the create form's "+ New company…".
COMPANY_LEADING_OPTIONS = {"new": [(NEW_COMPANY, "+ New company…")]}


@login_required
@require_http_methods(["GET", "HEAD"])
def company_options(request: HttpRequest) -> HttpResponse:
    """The <option>s of a company <select> narrowed to a search (htmx swaps them in)."""
    q = _search_term(request.GET.get("find", ""))
    # The picker sends its <select> along: named company (forms) or company_id (filters).
    raw = request.GET.get("company") or request.GET.get("company_id") or ""
    selected = parse_id(raw)
    empty = request.GET.get("empty", "")
    # A lead's picker names the lead's owner: only their companies (one outside the scope
    # finds nothing, as a missing one would).
    owner = request.GET.get("owner", "")
    owner_id = parse_id(owner) if owner else None
    if owner and owner_id is None:
        return HttpResponse("Invalid owner.", status=400)
    options, more = page_selectors.company_options(
        user=request.user, q=q, include_id=selected, owner_id=owner_id
    )
    context = {
        "options": options,
        "selected": selected,
        "leading": COMPANY_LEADING_OPTIONS.get(empty, []),
        "leading_selected": raw,
        "empty_label": COMPANY_EMPTY_LABELS.get(empty),
        "q": q,
        "more": more,
    }
    return render(request, "leads/_company_options.html", context)


@login_required
@require_http_methods(["GET", "HEAD"])
def company_list(request: HttpRequest) -> HttpResponse:
    q = _search_term(request.GET.get("q", ""))
    cursor = _cursor(request.GET.get("cursor"))
    page = page_selectors.company_page(
        user=request.user, q=q or None, cursor=cursor, limit=PAGE_SIZE
    )
    context = {
        "page": page,
        "q": q,
        "cursor": cursor,
        "next_query": _query_with(request.GET, cursor=page.next_cursor),
        "first_query": _query_with(request.GET, cursor=None),
        "form": CompanyForm(user=request.user),
    }
    return render(request, "leads/company_list.html", context)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def company_create(request: HttpRequest) -> HttpResponse:
    form = CompanyForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        company = services.company_create(user=request.user, data=form.cleaned_data)
        messages.success(request, f"Company “{company}” created.")
        return redirect("company-detail", id=company.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "leads/company_create.html", {"form": form}, status=status)


def _company_page(request: HttpRequest, company, form: CompanyForm, status: int = 200):
    cursor = _cursor(request.GET.get("cursor"))
    leads_page = page_selectors.company_leads(
        user=request.user, company_id=company.pk, cursor=cursor, limit=PAGE_SIZE
    )
    by_status = page_selectors.company_lead_counts_by_status(company=company)
    context = {
        "company": company,
        "form": form,
        "page": leads_page,
        "cursor": cursor,
        "next_query": _query_with(request.GET, cursor=leads_page.next_cursor),
        "first_query": _query_with(request.GET, cursor=None),
        "lead_count": sum(by_status.values()),
        "by_status": [
            {"value": s["value"], "label": s["label"], "count": by_status.get(s["value"], 0)}
            for s in STATUSES
        ],
    }
    return render(request, "leads/company_detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def company_detail(request: HttpRequest, id: int) -> HttpResponse:
    company = page_selectors.company_get(user=request.user, company_id=id)
    if request.method == "POST":
        form = CompanyForm(request.POST, user=request.user, company=company)
        if form.is_valid():
            services.company_update(company=company, data=form.cleaned_data)
            messages.success(request, "Company saved.")
            return redirect("company-detail", id=company.pk)
        company.refresh_from_db()
        return _company_page(request, company, form, status=422)
    form = CompanyForm(
        user=request.user,
        company=company,
        initial={f: getattr(company, f) for f in CompanyForm.base_fields},
    )
    return _company_page(request, company, form)


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def company_delete(request: HttpRequest, id: int) -> HttpResponse:
    company = page_selectors.company_get(user=request.user, company_id=id)
    if request.method == "POST":
        try:
            services.company_delete(company=company)
        except services.CompanyHasLeads as exc:
            messages.error(
                request,
                f"“{company}” still has {exc.count} lead{'s' if exc.count != 1 else ''}: "
                "move them to another company or delete them first. Nothing was deleted.",
            )
            return redirect("company-detail", id=company.pk)
        messages.success(request, f"Company “{company}” deleted.")
        return redirect("company-list")
    by_status = page_selectors.company_lead_counts_by_status(company=company)
    return render(
        request,
        "leads/company_delete.html",
        {"company": company, "lead_count": sum(by_status.values())},
    )


def _assign(request: HttpRequest, leads, to_user_id: int) -> None:
    """Hand ``leads`` (in the scope) to a member; the outcome as a message."""
    try:
        moved = reassign.leads_reassign(
            actor=request.user, leads=leads, to_user_id=to_user_id, source=Source.UI
        )
    except reassign.NotAManager:
        raise Http404 from None
    except ValidationError as error:
        messages.error(request, " ".join(m for ms in error.message_dict.values() for m in ms))
    except reassign.EmailTaken as clash:
        messages.error(
            request,
            format_html(
                "The new owner already has a lead with the email {}: "
                '<a href="{}">open it</a> and merge them. Nothing was reassigned.',
                clash.email,
                reverse("lead-detail", args=[clash.lead_id]),
            ),
        )
    else:
        name = page_selectors.owner_name_of(to_user_id)
        if moved:
            messages.success(
                request, f"{moved} lead{'s' if moved != 1 else ''} assigned to {name}."
            )
        else:
            messages.info(request, f"Those leads already belong to {name}.")


@login_required
@require_POST
def lead_assign(request: HttpRequest, id: int) -> HttpResponse:
    """A manager hands the lead to another member of the team (leads.reassign)."""
    lead = page_selectors.lead_detail(user=request.user, lead_id=id)
    to_user_id = parse_id(request.POST.get("to_user", ""))
    if to_user_id is None:
        messages.error(request, "Choose who the lead goes to.")
    else:
        _assign(request, Scope.of(request.user).leads().filter(pk=lead.pk), to_user_id)
    return redirect("lead-detail", id=lead.pk)
