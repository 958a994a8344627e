"""Export the current list filter to CSV, streamed: a million rows never sit in memory."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from leads.filters import LeadFilterSet
from leads.scope import Scope
from leads.selectors import LeadFilters, filter_leads

COLUMNS = [
    ("id", "id"),
    ("email", "email"),
    ("first_name", "first_name"),
    ("last_name", "last_name"),
    ("company", "company__name"),
    ("company_domain", "company__domain"),
    ("status", "status"),
    ("score", "score"),
    ("position", "position"),
    ("phone", "phone"),
    ("linkedin_url", "linkedin_url"),
    ("source", "source"),
    ("notes", "notes"),
    ("created_at", "created_at"),
    ("updated_at", "updated_at"),
]
BATCH = 2000
# A cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The cell as text, defused if a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


class _Line:
    """csv.writer writes into this; each row comes back as one string."""

    def write(self, value: str) -> str:
        return value


def csv_rows(queryset) -> Iterator[str]:
    writer = csv.writer(_Line())
    yield "\ufeff" + writer.writerow([name for name, _ in COLUMNS])  # BOM: Excel reads UTF-8
    fields = [field for _, field in COLUMNS]
    after = 0
    # Keyset batches by id: constant memory and no OFFSET, however many leads match.
    while True:
        rows = list(queryset.filter(id__gt=after).order_by("id").values_list(*fields)[:BATCH])
        if not rows:
            return
        for row in rows:
            yield writer.writerow([safe_cell(value) for value in row])
        after = rows[-1][0]


@login_required
@require_GET
def lead_export_csv(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    data = {k: v for k, v in request.GET.items() if k in LeadFilterSet.base_filters and v != ""}
    filterset = LeadFilterSet(data=data)
    if not filterset.is_valid():
        problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in filterset.errors.items())
        return HttpResponse(f"Cannot export: {problems}", status=400, content_type="text/plain")
    queryset = filter_leads(
        Scope.of(request.user).leads(),
        LeadFilters.from_cleaned(filterset.form.cleaned_data),
    )
    filename = f"leads-{timezone.localdate().isoformat()}.csv"
    response = StreamingHttpResponse(csv_rows(queryset), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
