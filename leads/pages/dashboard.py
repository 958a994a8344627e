"""The dashboard: the funnel, conversion, time in stage, new leads, scores and activity."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from leads import dashboard as queries
from leads import page_selectors, selectors, team_selectors
from leads.filters import GROUP_BY_USER
from leads.models import CLOSED_STATUSES, STATUS_ORDER, Status
from leads.pages.board import BoardFilters
from leads.scope import Scope

STATUS_LABELS = dict(Status.choices)


def _stage_series(stages: list[dict]) -> dict:
    """Medians in days, or in hours when every stage is left within two days."""
    known = [s["median_seconds"] for s in stages if s["median_seconds"] is not None]
    divisor, unit = (3600, "hours") if known and max(known) < 2 * 86400 else (86400, "days")
    return {
        "labels": [s["label"] for s in stages],
        "values": [
            None if s["median_seconds"] is None else round(s["median_seconds"] / divisor, 1)
            for s in stages
        ],
        "unit": unit,
        "empty": not known,
    }


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    state = BoardFilters(request.GET)
    context: dict = {"state": state, "owners": page_selectors.team_owners(user=request.user)}
    if state.valid:
        user = request.user
        # A window that leaves out none of the leads is no filter: every figure reads as
        # without one (state.filters, shown on the page, keeps it).
        filters = selectors.without_idle_window(user=user, filters=state.filters)
        # A manager's statistics with the counts per owner: the per-rep table's open leads
        # and conversion rates (on SQLite they are read owner by owner anyway).
        manager = Scope.of(user).is_manager
        group_by = GROUP_BY_USER if manager else None
        stats = selectors.lead_stats(user=user, filters=filters, group_by=group_by)
        values = {s: Decimal(v) for s, v in stats["value_by_status"].items()}
        funnel = [
            {
                "status": s,
                "label": STATUS_LABELS[s],
                "count": stats["by_status"][s],
                "value": values[s],
            }
            for s in STATUS_ORDER
        ]
        open_statuses = [s for s in STATUS_ORDER if s not in CLOSED_STATUSES]
        closes = queries.lead_expected_closes(user=user, filters=filters)
        rate = queries.lead_conversion_rate(stats["by_status"])
        weeks = queries.lead_new_per_week(user=user, filters=filters)
        scores = queries.lead_score_distribution(user=user, filters=filters)
        stage_times = queries.lead_stage_times(user=user, filters=filters)
        company = None
        if filters.company_id is not None:
            company = queries.company_name_get(user=user, company_id=filters.company_id)
        context.update(
            {
                "company": company,
                "total": stats["total"],
                "open_value": sum((values[s] for s in open_statuses), Decimal(0)),
                "open_count": sum(stats["by_status"][s] for s in open_statuses),
                "won": queries.lead_won_this_month(user=user, filters=filters),
                "closes": closes,
                "closes_any": any(c["count"] for c in closes),
                "funnel": funnel,
                "conversion_rate": rate,
                "converted": stats["by_status"][Status.CONVERTED],
                "closed": stats["by_status"][Status.CONVERTED] + stats["by_status"][Status.LOST],
                "weeks": weeks,
                "new_in_period": sum(w["count"] for w in weeks),
                "scores": scores,
                "stage_times": stage_times,
                "recent": queries.leadevent_recent(user=user, filters=filters),
                "reps": (
                    team_selectors.team_rep_table(
                        user=user, filters=filters, by_user=stats["by_user"]
                    )
                    if manager
                    else None
                ),
                # Only numbers and fixed labels go to the charts: json_script escapes them.
                "chart_data": {
                    "funnel": {
                        "labels": [f["label"] for f in funnel],
                        "values": [f["count"] for f in funnel],
                    },
                    "weeks": {
                        "labels": [w["week"].strftime("%d %b") for w in weeks],
                        "values": [w["count"] for w in weeks],
                    },
                    "scores": {
                        "labels": [b["label"] for b in scores.buckets],
                        "values": [b["count"] for b in scores.buckets],
                    },
                    "stages": _stage_series(stage_times.stages),
                },
            }
        )
    return render(request, "leads/dashboard.html", context, status=200 if state.valid else 400)
