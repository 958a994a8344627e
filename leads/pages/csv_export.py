"""Export the current list filter to CSV, streamed: a million rows never sit in memory."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from crm.spreadsheet import CsvLine, defuse
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
    # Last, so spreadsheets built on the earlier columns keep their places.
    ("deal_value", "deal_value"),
    ("expected_close_date", "expected_close_date"),
]
BATCH = 2000
CUSTOM_PREFIX = "custom:"  # what the CSV import recognises as a custom attribute's column
MAX_CUSTOM_COLUMNS = 500


def safe_cell(value) -> str:
    """The cell as text, defused if a spreadsheet would run it as a formula (phone numbers and
    signed numbers are not: ``crm.spreadsheet``)."""
    if value is None:
        return ""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return defuse(text)


def custom_keys(queryset) -> list[str]:
    """The custom attribute names the exported leads use, in name order (one pass over the
    selection's ``custom_attributes`` in batches, before the rows are written)."""
    keys: set[str] = set()
    after = 0
    while True:
        rows = list(
            queryset.filter(id__gt=after)
            .exclude(custom_attributes={})
            .order_by("id")
            .values_list("id", "custom_attributes")[:BATCH]
        )
        if not rows:
            return sorted(keys)[:MAX_CUSTOM_COLUMNS]
        for _, attributes in rows:
            keys.update(attributes or ())
        after = rows[-1][0]


def csv_rows(queryset) -> Iterator[str]:
    writer = csv.writer(CsvLine())
    keys = custom_keys(queryset)
    header = [name for name, _ in COLUMNS] + [CUSTOM_PREFIX + key for key in keys]
    yield "\ufeff" + writer.writerow([defuse(name) for name in header])  # BOM: Excel reads UTF-8
    fields = [field for _, field in COLUMNS] + ["custom_attributes"]
    after = 0
    # Keyset batches by id: constant memory and no OFFSET, however many leads match.
    while True:
        rows = list(queryset.filter(id__gt=after).order_by("id").values_list(*fields)[:BATCH])
        if not rows:
            return
        for row in rows:
            attributes = row[-1] or {}
            cells = [safe_cell(value) for value in row[:-1]]
            cells += [safe_cell(attributes.get(key, "")) for key in keys]
            yield writer.writerow(cells)
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
