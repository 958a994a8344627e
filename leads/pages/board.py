"""The pipeline board: one column per status, cards loaded a keyset page at a time."""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html_join
from django.views.decorators.http import require_GET, require_POST

from crm.money import money, money_short
from leads import page_selectors, selectors
from leads.dashboard import company_name_get
from leads.filters import LeadFilterSet
from leads.models import STATUS_ORDER, Source, Status
from leads.selectors import LeadFilters
from leads.services import REASON_MAX_LENGTH, lead_set_status

PAGE_SIZE = 25
# The board's own filters: the list's, except status (each column is one status).
FILTER_FIELDS = (
    "company_id",
    "min_score",
    "max_score",
    "created_after",
    "created_before",
    "q",
    "user_id",
)
STATUS_LABELS = dict(Status.choices)


class BoardFilters:
    """The GET filter form's state: validated by the list's FilterSet, kept in the URL."""

    def __init__(self, query: QueryDict) -> None:
        data = QueryDict(mutable=True)
        for field in FILTER_FIELDS:
            value = query.get(field, "").strip()
            if value:
                data[field] = value
        self.filterset = LeadFilterSet(data=data)
        self.valid = self.filterset.is_valid()
        self.errors: dict[str, list[str]] = {
            field: [str(e) for e in errs] for field, errs in self.filterset.errors.items()
        }
        self.values = {field: data.get(field, "") for field in FILTER_FIELDS}
        cleaned = self.filterset.form.cleaned_data if self.valid else {}
        self.filters = LeadFilters.from_cleaned(cleaned)
        # Only what validated goes on to the next page's links.
        self.query = urlencode({f: v for f, v in self.values.items() if v}) if self.valid else ""

    @cached_property
    def move_url(self) -> str:  # read by every card's form
        return reverse("board-move") + (f"?{self.query}" if self.query else "")

    @property
    def active(self) -> bool:
        return any(self.values.values())


def _options(current: str) -> str:
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        (
            (s, " selected" if s == current else "", label if s == current else f"Move to {label}")
            for s, label in Status.choices
        ),
    )


# Every card of a column has the same menu: built once, not once per card (template time is
# most of the board's time).
MOVE_OPTIONS = {status: _options(status) for status in STATUS_ORDER}


def _age(days: int) -> str:
    if days <= 0:
        return "today"
    return f"{days} day" + ("" if days == 1 else "s")


# Any id: where it stands in the lead page's path, a card's id goes.
_SAMPLE_ID = 987654321


def _lead_url_format() -> str:
    """The lead page's path with "{}" for the id: reversed once a page, not once a card."""
    return reverse("lead-detail", args=[_SAMPLE_ID]).replace(str(_SAMPLE_ID), "{}")


def _card(row: dict[str, Any], now, lead_url: str) -> dict[str, Any]:
    name = f"{row['first_name']} {row['last_name']}".strip()
    created = timezone.localtime(row["created_at"])
    # The id and score go in as text: a card prints them eleven times, and the template
    # localizes every number it prints (number_format), a third of the board's time.
    return {
        "id": str(row["id"]),
        "url": lead_url.format(row["id"]),
        "name": name or row["email"] or f"Lead {row['id']}",
        "email": row["email"] if name else "",
        "company": row["company"]["name"],
        "score": str(row["score"]),
        "value": money(row["deal_value"]),
        "status": row["status"],
        "created_iso": created.isoformat(),
        "created_text": created.strftime("%d %b %Y, %H:%M"),
        "age": _age((now - row["created_at"]).days),
        "options": MOVE_OPTIONS[row["status"]],
    }


def _column_page(user, filters: LeadFilters, status: str, cursor: int | None):
    page = selectors.lead_list(
        user=user, filters=replace(filters, status=status), cursor=cursor, limit=PAGE_SIZE
    )
    now, lead_url = timezone.now(), _lead_url_format()
    return [_card(row, now, lead_url) for row in page.data], page.next_cursor


def _statuses() -> list[dict[str, str]]:
    return [{"value": s, "label": STATUS_LABELS[s]} for s in STATUS_ORDER]


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    state = BoardFilters(request.GET)
    columns = []
    if state.valid:
        stats = selectors.lead_stats(user=request.user, filters=state.filters)
        for status in STATUS_ORDER:
            cards, next_cursor = _column_page(request.user, state.filters, status, None)
            columns.append(
                {
                    "status": status,
                    "label": STATUS_LABELS[status],
                    "count": stats["by_status"][status],
                    "value": stats["value_by_status"][status],
                    "cards": cards,
                    "next_cursor": next_cursor,
                }
            )
    company = None
    if state.valid and state.filters.company_id is not None:
        company = company_name_get(user=request.user, company_id=state.filters.company_id)
    context = {
        "state": state,
        "owners": page_selectors.team_owners(user=request.user),
        "columns": columns,
        "statuses": _statuses(),
        "company": company,
    }
    return render(request, "leads/board.html", context, status=200 if state.valid else 400)


@login_required
@require_GET
def board_column(request: HttpRequest, status: str) -> HttpResponse:
    if status not in STATUS_ORDER:
        raise Http404
    state = BoardFilters(request.GET)
    if not state.valid:
        return HttpResponse("Invalid filters.", status=400)
    cursor_field = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    try:
        cursor = cursor_field.clean(request.GET.get("cursor"))
    except forms.ValidationError:
        return HttpResponse("Invalid cursor.", status=400)
    cards, next_cursor = _column_page(request.user, state.filters, status, cursor)
    context = {
        "column": {"status": status, "label": STATUS_LABELS[status]},
        "cards": cards,
        "next_cursor": next_cursor,
        "statuses": _statuses(),
        "state": state,
    }
    return render(request, "leads/_board_cards.html", context)


class MoveForm(forms.Form):
    lead = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    status = forms.ChoiceField(choices=Status.choices)
    # Why a lead was lost, asked by the board's script when a card goes to Lost (optional).
    reason = forms.CharField(max_length=REASON_MAX_LENGTH, required=False)


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@login_required
@require_POST
def board_move(request: HttpRequest) -> HttpResponse:
    """Move a lead to another column; JSON for the board's script, a redirect without it."""
    form = MoveForm(request.POST)
    state = BoardFilters(request.GET)
    back = reverse("board") + (f"?{state.query}" if state.query else "")
    if not form.is_valid():
        errors = {f: [str(e) for e in errs] for f, errs in form.errors.items()}
        if _wants_json(request):
            return JsonResponse({"ok": False, "errors": errors}, status=400)
        messages.error(request, "That move was not understood. Nothing was changed.")
        return redirect(back)
    lead = selectors.lead_get(user=request.user, lead_id=form.cleaned_data["lead"])
    lead = lead_set_status(
        lead=lead,
        status=form.cleaned_data["status"],
        source=Source.UI,
        reason=form.cleaned_data["reason"],
        actor=request.user,
    )
    label = STATUS_LABELS[lead.status]
    if not _wants_json(request):
        messages.success(request, f"{lead} moved to {label}.")
        return redirect(back)
    stats = selectors.lead_stats(user=request.user, filters=state.filters)
    return JsonResponse(
        {
            "ok": True,
            "lead": lead.pk,
            "status": lead.status,
            "label": label,
            "counts": stats["by_status"],
            "values": {s: money_short(v) for s, v in stats["value_by_status"].items()},
            "amounts": {s: money(v) for s, v in stats["value_by_status"].items()},
        }
    )
