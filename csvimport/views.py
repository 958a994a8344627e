"""CSV import pages: upload, map the columns on a preview, start, and watch the job.

Thin doors: csvimport.parsing and csvimport.services do the work, csvimport.selectors the reads.
"""

from __future__ import annotations

import csv
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from crm.htmx import HtmxRequest
from crm.ids import parse_id
from crm.spreadsheet import CsvLine, defuse
from csvimport import parsing, preview, selectors, services
from csvimport.models import CsvImport
from leads.pages.assignment import AssignmentForm


@login_required
@require_http_methods(["GET", "POST"])
def csv_import_upload(request: HttpRequest) -> HttpResponse:
    error = ""
    if request.method == "POST":
        upload = request.FILES.get("file")
        refused = getattr(request, "upload_refused_size", None)
        if refused:
            error = parsing.too_big_message(refused)
        elif upload is None:
            error = "Choose a CSV file to upload."
        elif upload.size and upload.size > parsing.MAX_BYTES:
            error = parsing.too_big_message(upload.size)
        else:
            try:
                csv_import = services.csv_import_create(
                    user=request.user, filename=upload.name or "", raw=upload.read()
                )
            except parsing.CsvFileError as exc:
                error = str(exc)
            else:
                return redirect("csv-import-preview", id=csv_import.pk)
    context = {
        "error": error,
        "recent": selectors.csv_import_recent(user=request.user),
        "max_rows": parsing.MAX_ROWS,
        "max_size": parsing.size_text(parsing.MAX_BYTES),
    }
    return render(request, "csvimport/upload.html", context, status=400 if error else 200)


def _columns(
    csv_import: CsvImport, mapping: dict[str, str], errors: dict[str, str], rows: list[list[str]]
) -> list:
    options = [(parsing.IGNORE, "Ignore this column"), *parsing.FIELD_LABELS.items()]
    columns = []
    for index, header in enumerate(csv_import.headers):
        key = str(index)
        custom = parsing.custom_field(header)
        chosen = mapping.get(key, parsing.IGNORE)
        choices = [*options, (custom, f"Keep as custom attribute “{header[:40]}”")]
        if chosen not in dict(choices):
            choices.append((chosen, parsing.field_label(chosen)))
        columns.append(
            {
                "index": index,
                "header": header,
                "chosen": chosen,
                "choices": choices,
                "error": errors.get(key, ""),
                "samples": [row[index] for row in rows if row[index].strip()],
            }
        )
    return columns


@login_required
@require_http_methods(["GET", "POST"])
def csv_import_preview(request: HtmxRequest, id: int) -> HttpResponse:
    """The mapping form. A POST starts the import, unless it only asks for the preview again
    (htmx on every change, or the "Update preview" button without JavaScript), or the
    choices differ from those the forecast on the page was made for."""
    csv_import = selectors.csv_import_get(user=request.user, import_id=id, with_content=True)
    if csv_import.state != CsvImport.State.PENDING:
        return redirect("csv-import-progress", id=csv_import.pk)
    width = len(csv_import.headers)
    column_errors: dict[str, str] = {}
    errors: list[str] = []
    mode_error = ""
    notice = ""
    if request.method == "POST":
        mapping = {
            str(i): request.POST.get(f"col-{i}", parsing.IGNORE).strip() for i in range(width)
        }
        mode = request.POST.get("mode", "")
        if mode not in CsvImport.Mode.values:
            mode_error = "Choose create only, or create or update by email."
        column_errors, errors = parsing.validate_mapping(mapping, width)
        choices = preview.posted_choices(csv_import, mapping, request.POST)
        assignment = AssignmentForm(request.POST, user=request.user)
        if not assignment.is_valid():
            for name, problems_of_field in assignment.errors.items():
                text = " ".join(str(problem) for problem in problems_of_field)
                errors.append(f"{assignment.fields[name].label}: {text}")
    else:
        mapping, mode = csv_import.mapping, csv_import.mode
        choices = preview.saved_choices(csv_import, mapping)
        assignment = AssignmentForm(
            user=request.user,
            initial={
                "assign": csv_import.assign,
                "assign_to": [str(pk) for pk in csv_import.assign_to or []],
            },
        )
    refresh = bool(request.htmx) or request.POST.get("action") == "preview"
    valid = not (column_errors or errors or mode_error)
    if request.method == "POST" and valid and not refresh:
        digest = preview.choices_digest(mapping, mode, choices)
        shown = request.POST.get("forecast-for")
        if shown is not None and shown != digest:
            notice = choices.changed_notice or (
                "Your choices changed after the forecast was made. Read the forecast below "
                "again, then start the import."
            )
        else:
            try:
                services.csv_import_start(
                    csv_import=csv_import,
                    mapping=mapping,
                    mode=mode,
                    statuses=choices.statuses,
                    date_order=choices.date_order,
                    **assignment.assignment(),
                )
            except services.TooManyImports:
                errors.append(
                    f"You already have {settings.CSV_IMPORT_MAX_ACTIVE} imports queued or "
                    "running. Start this one when one of them has finished (or cancel one)."
                )
            else:
                return redirect("csv-import-progress", id=csv_import.pk)
    rows = parsing.preview_rows(csv_import.content, csv_import.delimiter, width)
    problems = [
        f"Column “{csv_import.headers[int(i)]}”: {error}" for i, error in column_errors.items()
    ]
    context = {
        "csv_import": csv_import,
        "columns": _columns(csv_import, mapping, column_errors, rows),
        "rows": rows,
        "errors": errors,
        "problems": [*problems, *errors, *([mode_error] if mode_error else [])],
        "notice": notice,
        "mode": mode,
        "mode_error": mode_error,
        "modes": CsvImport.Mode.choices,
        "assignment": assignment,
        "delimiter_name": parsing.DELIMITER_NAMES.get(csv_import.delimiter, "comma"),
        "earlier": selectors.same_file_imported(csv_import=csv_import),
        "status": choices.status_view,
        "status_choices": preview.STATUS_CHOICES,
        "dates": choices.date_view,
        "time_zone": settings.TIME_ZONE,
        "forecast": (
            preview.forecast(csv_import=csv_import, mapping=mapping, mode=mode, choices=choices)
            if valid
            else None
        ),
        "forecast_for": preview.choices_digest(mapping, mode, choices) if valid else "",
        "refresh": refresh,
    }
    invalid = bool(column_errors or errors or mode_error) and not refresh
    return render(request, "csvimport/preview.html", context, status=400 if invalid else 200)


@login_required
@require_http_methods(["GET"])
def csv_import_progress(request: HtmxRequest, id: int) -> HttpResponse:
    csv_import = selectors.csv_import_get(user=request.user, import_id=id)
    after = parse_id(request.GET.get("after", "0"), minimum=0) or 0
    rejections: list[Any] = []
    next_after = None
    if csv_import.rejected and not csv_import.is_active:
        rejections, next_after = selectors.csv_rejection_page(csv_import=csv_import, after=after)
    context = {
        "csv_import": csv_import,
        "rejections": rejections,
        "next_after": next_after,
        "after": after,
        "imported": csv_import.created + csv_import.updated,
        "percent": (
            round(100 * csv_import.processed / csv_import.total_rows)
            if csv_import.total_rows
            else 0
        ),
    }
    template = "csvimport/_progress.html" if request.htmx else "csvimport/progress.html"
    return render(request, template, context)


@login_required
@require_http_methods(["GET"])
def csv_import_rejected_csv(request: HttpRequest, id: int) -> StreamingHttpResponse:
    """The rejected rows as a CSV: the file's own columns and a reason, ready to fix and
    import again (cells a spreadsheet would run are defused, as in every export)."""
    csv_import = selectors.csv_import_get(user=request.user, import_id=id)
    writer = csv.writer(CsvLine())

    def rows():
        yield "\ufeff" + writer.writerow(
            [defuse(h) for h in [*csv_import.headers, "row", "reason"]]
        )
        width = len(csv_import.headers)
        for _, row_number, values, reason in selectors.csv_rejections_all(csv_import=csv_import):
            cells = [*(values or [])[:width], *[""] * (width - len(values or []))]
            yield writer.writerow([*(defuse(str(c)) for c in cells), row_number, defuse(reason)])

    stem = csv_import.filename.rsplit(".", 1)[0] or "import"
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    safe_stem = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in stem)[:80]
    response["Content-Disposition"] = f'attachment; filename="{safe_stem}-rejected.csv"'
    return response


@login_required
@require_POST
def csv_import_cancel(request: HttpRequest, id: int) -> HttpResponse:
    csv_import = selectors.csv_import_get(user=request.user, import_id=id)
    if services.csv_import_cancel(csv_import=csv_import):
        saved = csv_import.created + csv_import.updated
        messages.success(
            request,
            f"Import cancelled after {csv_import.processed} of {csv_import.total_rows} rows; "
            f"the {saved} lead{'s' if saved != 1 else ''} already written stay.",
        )
    else:
        messages.info(request, "This import had already finished; nothing was changed.")
    return redirect("csv-import-progress", id=csv_import.pk)
