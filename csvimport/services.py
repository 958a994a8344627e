"""Writes for CSV imports: store an upload, start it, and run it in checkpointed batches.

Every batch of rows is written by the pipeline's bulk upsert (``leads.bulk``, source "csv"),
so an imported lead has the same history as one made in the UI or the API, and every field
an import changes on an existing lead is in that lead's history.

A row's lead is looked for in the importing user's whole scope (a manager's: the team's), so
a person any member owns is updated in place and keeps their owner. New leads are the
user's, or spread over the team as the import's ``assign`` says (``leads.assignment``);
round robin goes on from where the user's previous round-robin import stopped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from crm import jobs
from crm.spreadsheet import restore
from csvimport import parsing
from csvimport.models import CsvImport, CsvRejection
from leads.assignment import Assignment, import_assignment
from leads.bulk import (
    COMPANY_MAX_LENGTH,
    LEAD_MAX_LENGTH,
    CompanyFacts,
    LeadRow,
    Outcome,
    lead_bulk_upsert,
)
from leads.models import Assign, Company, Lead, MergePolicy, Source, Status
from leads.normalize import domain_or_empty, normalize_email
from leads.scope import Scope
from leads.services import PlannerStatistics

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
LEAD_TEXT_FIELDS = (
    "email",
    "first_name",
    "last_name",
    "position",
    "phone",
    "linkedin_url",
    "source",
    "notes",
)
_STATUSES = frozenset(Status.values)  # Status.values builds a new list on every call
_MAX_LENGTH = {
    **{name: LEAD_MAX_LENGTH[name] for name in LEAD_TEXT_FIELDS},
    "company": COMPANY_MAX_LENGTH["name"],
    "company_domain": COMPANY_MAX_LENGTH["domain"],
}


class RowRejected(ValueError):
    """The row cannot be imported; the message is the reason shown to the user. ``group``
    is the reason without the row's own values: the preview's forecast counts rows by it."""

    def __init__(self, reason: str, group: str = "") -> None:
        super().__init__(reason)
        self.group = group or reason


@dataclass(frozen=True)
class RowRules:
    """How the cells that need a choice read: status values, and creation dates (their
    day/month order, the time zone of those without one, and the moment that is "future")."""

    statuses: parsing.StatusRules = field(default_factory=parsing.StatusRules)
    date_order: str = ""
    tz: dt.tzinfo = dt.UTC
    now: dt.datetime = field(default_factory=timezone.now)
    # A status column repeats a handful of values: each is resolved once.
    _status_cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def status(self, value: str) -> str:
        """A pipeline status, parsing.STATUS_IGNORE, or "" (no choice) for a cell."""
        status = self._status_cache.get(value)
        if status is None:
            status = self._status_cache[value] = self.statuses.resolve(value)
        return status

    @classmethod
    def of(cls, *, status_values: object = None, date_order: str = "") -> RowRules:
        return cls(
            statuses=parsing.StatusRules.from_json(status_values),
            date_order=date_order if date_order in parsing.DATE_ORDERS else "",
            tz=timezone.get_default_timezone(),
            now=timezone.now(),
        )

    @classmethod
    def of_import(cls, csv_import: CsvImport) -> RowRules:
        return cls.of(status_values=csv_import.status_values, date_order=csv_import.date_order)


@dataclass
class ParsedRow:
    lead: dict[str, Any]  # mapped, non-empty lead fields, validated
    company_name: str = ""
    company_domain: str = ""
    custom: dict[str, str] = field(default_factory=dict)

    @property
    def has_company(self) -> bool:
        return bool(self.company_name or self.company_domain)


# --- upload and start ---------------------------------------------------------------------------


def content_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def csv_import_create(*, user, filename: str, raw: bytes) -> CsvImport:
    """Check and store an upload. Raises parsing.CsvFileError with the reason if unusable."""
    parsed = parsing.parse(raw)
    return CsvImport.objects.create(
        user=user,
        filename=(filename or "upload.csv")[:255],
        content=parsed.text,
        content_digest=content_digest(parsed.text),
        delimiter=parsed.delimiter,
        note=parsed.note,
        headers=parsed.headers,
        mapping=parsing.guess_mapping(parsed.headers),
        total_rows=parsed.total_rows,
    )


class TooManyImports(Exception):
    """The user already has CSV_IMPORT_MAX_ACTIVE imports queued or running."""


def csv_import_start(
    *,
    csv_import: CsvImport,
    mapping: Mapping[str, str],
    mode: str,
    statuses: parsing.StatusRules | None = None,
    date_order: str = "",
    assign: str = Assign.OWNER,
    assign_to: list[int] | None = None,
) -> bool:
    """Save the mapping (with the status values' meanings, the dates' order and who gets
    the new leads: ``assign`` and ``assign_to`` as ``leads.assignment`` checked them) and
    queue the job. False if it was started already; TooManyImports while the user has
    CSV_IMPORT_MAX_ACTIVE imports queued or running."""
    active = (
        Scope.of_user_id(csv_import.user_id)
        .own(CsvImport)
        .filter(state__in=CsvImport.ACTIVE_STATES)
    )
    if active.count() >= settings.CSV_IMPORT_MAX_ACTIVE:
        raise TooManyImports
    with transaction.atomic():
        started = jobs.job_queue(
            CsvImport,
            csv_import.pk,
            mapping=dict(mapping),
            mode=mode,
            status_values=(statuses or parsing.StatusRules()).to_json(),
            date_order=date_order if date_order in parsing.DATE_ORDERS else "",
            assign=assign,
            assign_to=assign_to or None,
        )
        if started:
            from csvimport.tasks import run_csv_import

            import_id = csv_import.pk
            transaction.on_commit(lambda: run_csv_import.delay(import_id))
    return started


def csv_import_cancel(*, csv_import: CsvImport) -> bool:
    """Stop a queued or running import. The batches committed so far stay; a running job
    stops before its next batch. False if the import had already finished."""
    if not csv_import.is_active:
        csv_import.refresh_from_db()
        if not csv_import.is_active:
            return False
    jobs.job_cancel(CsvImport, csv_import)
    return True


def csv_imports_resume_stalled() -> list[int]:
    """Active imports no live worker holds (its lease lapsed, or its message was lost): the
    ids to queue again (a rerun resumes from the checkpoint and never writes a row twice).
    Those already claimed CSV_IMPORT_MAX_ATTEMPTS times fail instead, with a message."""
    return jobs.jobs_to_recover(CsvImport)


# --- one row ------------------------------------------------------------------------------------


def parse_row(
    cells: list[str],
    mapping: Mapping[str, str],
    columns: list[tuple[int, str]] | None = None,
    rules: RowRules | None = None,
) -> ParsedRow:
    """Validate one record against the mapping, like the API validates a lead. ``columns``
    (``parsing.mapped_columns``, computed once per batch) are the only cells read; ``rules``
    (once per batch too) say what status values and dates mean.

    The import job and the preview's forecast both call this: what the forecast counts as
    rejected is what the job rejects, for the same reason."""
    width = len(mapping)
    if len(cells) > width and any(c.strip() for c in cells[width:]):
        raise RowRejected(
            f"The row has {len(cells)} cells but the header has only {width}.",
            "The row has more cells than the header",
        )
    if rules is None:
        rules = RowRules.of()
    row = ParsedRow(lead={})
    for index, target in parsing.mapped_columns(dict(mapping)) if columns is None else columns:
        # What our own export defused comes back as it was (crm.spreadsheet).
        value = restore(cells[index].strip()) if index < len(cells) else ""
        if not value:
            continue
        if target.startswith(parsing.CUSTOM_PREFIX):
            row.custom[target[len(parsing.CUSTOM_PREFIX) :]] = value
            continue
        limit = _MAX_LENGTH.get(target)
        if limit and len(value) > limit:
            label = parsing.field_label(target)
            raise RowRejected(f"{label} is longer than {limit} characters.")
        if target == "email":
            try:
                row.lead["email"] = normalize_email(value)
            except ValidationError:
                raise RowRejected(
                    f"“{cells[index].strip()}” is not a valid email address.",
                    "Email is not a valid address",
                ) from None
        elif target == "status":
            status = rules.status(value)
            if status == parsing.STATUS_IGNORE:
                continue  # the lead keeps its status; a new one starts as new
            if status not in _STATUSES:
                raise RowRejected(
                    f"Status “{value}” is not one of: {', '.join(Status.values)}, and no "
                    "pipeline status was chosen for it.",
                    f"Status “{parsing.status_key(value)}” has no pipeline status chosen",
                )
            row.lead["status"] = status
        elif target == "created_at":
            row.lead["created_at"] = _created_at(value, rules)
        elif target == "score":
            row.lead["score"] = _score(value)
        elif target == "deal_value":
            try:
                row.lead["deal_value"] = parsing.parse_money(value)
            except ValueError as exc:
                raise RowRejected(f"Deal value {exc}", "Deal value is not an amount") from None
        elif target == "expected_close_date":
            try:
                moment = parsing.parse_date(value, order=rules.date_order, tz=rules.tz)
            except parsing.DateRejected as exc:
                raise RowRejected(
                    f"Expected close date {exc}", "Expected close date is not a date"
                ) from None
            row.lead["expected_close_date"] = moment.astimezone(rules.tz).date()
        elif target == "company":
            row.company_name = value
        elif target == "company_domain":
            domain = domain_or_empty(value)
            if not domain:
                raise RowRejected(
                    f"“{value}” is not a valid company domain.", "Company domain is not valid"
                )
            row.company_domain = domain
        else:
            row.lead[target] = value
    if not (
        row.lead.get("email")
        or row.lead.get("first_name")
        or row.lead.get("last_name")
        or row.has_company
    ):
        raise RowRejected("The row has no email, no name and no company.")
    return row


def _score(value: str) -> int:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not number.is_integer() or not 0 <= number <= 100:
        raise RowRejected(
            f"Score “{value}” is not a whole number from 0 to 100.",
            "Score is not a whole number from 0 to 100",
        )
    return int(number)


def _created_at(value: str, rules: RowRules) -> dt.datetime:
    try:
        moment = parsing.parse_date(value, order=rules.date_order, tz=rules.tz)
    except parsing.DateRejected as exc:
        group = (
            "Creation date could be day/month or month/day, and no order was chosen"
            if exc.ambiguous
            else "Creation date is not a date"
        )
        raise RowRejected(f"Creation date {exc}", group) from None
    if moment > rules.now:
        raise RowRejected(
            f"Creation date “{value}” is in the future.", "Creation date is in the future"
        )
    return moment


# --- the job ------------------------------------------------------------------------------------


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    rejections: list[CsvRejection] = field(default_factory=list)


def _lead_row(row: ParsedRow) -> LeadRow:
    values = row.lead
    return LeadRow(
        email=values.get("email", ""),
        first_name=values.get("first_name", ""),
        last_name=values.get("last_name", ""),
        position=values.get("position", ""),
        phone=values.get("phone", ""),
        linkedin_url=values.get("linkedin_url", ""),
        notes=values.get("notes", ""),
        source=values.get("source", ""),
        custom_attributes=row.custom,
        status=values.get("status"),
        score=values.get("score"),
        company=CompanyFacts(name=row.company_name, domain=row.company_domain),
        created_at=values.get("created_at"),
        deal_value=values.get("deal_value"),
        expected_close_date=values.get("expected_close_date"),
    )


def _assignment(
    csv_import: CsvImport, scope: Scope, loads: dict[int, int] | None
) -> Assignment | None:
    """Who this batch's new leads go to, read now (a member deactivated since is skipped);
    ``loads``: the run's open-lead counts for least loaded, kept from batch to batch."""
    return import_assignment(
        scope=scope,
        assign=csv_import.assign,
        assign_to=csv_import.assign_to,
        last_user_id=csv_import.assign_last_user_id,
        open_leads=loads,
    )


def _write_batch(
    *,
    csv_import: CsvImport,
    batch: list[tuple[int, list[str]]],
    loads: dict[int, int] | None = None,
) -> _Counts:
    """Write one batch of rows through the pipeline's bulk upsert (leads.bulk), matching
    leads across the user's scope; where round robin stands moves on ``csv_import``."""
    counts = _Counts()
    todo: list[tuple[int, list[str], LeadRow]] = []
    columns = parsing.mapped_columns(csv_import.mapping)
    rules = RowRules.of_import(csv_import)
    for index, cells in batch:
        try:
            parsed = parse_row(cells, csv_import.mapping, columns, rules)
            todo.append((index, cells, _lead_row(parsed)))
        except RowRejected as exc:
            counts.rejections.append(_rejection(csv_import, index, cells, str(exc)))
    create_only = csv_import.mode == CsvImport.Mode.CREATE
    policy = (
        MergePolicy.OVERWRITE if csv_import.mode == CsvImport.Mode.OVERWRITE else MergePolicy.FILL
    )
    scope = Scope.of_person(csv_import.user_id)
    assignment = _assignment(csv_import, scope, loads) if todo else None
    while todo:
        results = lead_bulk_upsert(
            user_id=csv_import.user_id,
            rows=[row for _, _, row in todo],
            policy=policy,
            source=Source.CSV,
            create_only=create_only,
            score_is_manual=True,
            match_names=True,
            scope=scope,
            assignment=assignment,
        )
        again: list[tuple[int, list[str], LeadRow]] = []
        for (index, cells, row), result in zip(todo, results, strict=True):
            outcome = result.outcome
            if outcome is Outcome.CREATED:
                counts.created += 1
            elif outcome is Outcome.UPDATED:
                counts.updated += 1
            elif outcome is Outcome.DUPLICATE and not row.email:
                # The same person without an email again further down: they update the lead
                # the earlier row made, whatever the mode (an email-less row has no "exists").
                again.append((index, cells, row))
            elif outcome is Outcome.EXISTS or (outcome is Outcome.DUPLICATE and create_only):
                if row.email:
                    reason = f"A lead with the email {row.email} already exists."
                else:
                    name = f"{row.first_name} {row.last_name}".strip()
                    reason = f"A lead named {name} without an email already exists there."
                counts.rejections.append(_rejection(csv_import, index, cells, reason))
            elif outcome is Outcome.DUPLICATE:
                # The same email again further down the batch: it updates the lead the
                # earlier row made, as it would in a batch of its own.
                again.append((index, cells, row))
        todo = again
    if assignment is not None:
        csv_import.assign_last_user_id = assignment.last_user_id
    counts.rejections.sort(key=lambda rejection: rejection.row_number)
    return counts


def _rejection(csv_import: CsvImport, index: int, cells: list[str], reason: str) -> CsvRejection:
    return CsvRejection(csv_import=csv_import, row_number=index + 2, values=cells, reason=reason)


def _claim(import_id: int, owner: str) -> CsvImport | None:
    """Take the import's lease; None if it is not queued or running (finished, unknown, or
    held by a live worker)."""
    if not jobs.job_claim(CsvImport, import_id, owner):
        return None
    return CsvImport.objects.select_related("user").get(pk=import_id)


def csv_import_run(
    *,
    import_id: int,
    owner: str | None = None,
    after_batch: Callable[[int], None] | None = None,
) -> str:
    """Process an import from its checkpoint to the end. Safe to run twice, or after a crash.

    Each batch of rows commits in one transaction together with the counters, the checkpoint
    and the renewal of the lease, so a rerun never writes a row twice. ``after_batch`` is a
    test hook.
    """
    owner = owner or uuid.uuid4().hex
    csv_import = _claim(import_id, owner)
    if csv_import is None:
        state = CsvImport.objects.filter(pk=import_id).values_list("state", flat=True).first()
        return state or "missing"
    statistics = PlannerStatistics({Lead: ["user", "email"], Company: ["user", "domain", "name"]})
    if csv_import.assign == Assign.ROUND_ROBIN and csv_import.assign_last_user_id is None:
        csv_import.assign_last_user_id = _round_robin_position(csv_import)

    loads: dict[int, int] = {}  # least loaded: counted on the first batch, then kept up

    def commit(batch: list[tuple[int, list[str]]]) -> bool:
        created = csv_import.created
        committed = _commit_batch(csv_import, owner, batch, loads)
        statistics.wrote(csv_import.created - created)
        return committed

    rows = parsing.iter_rows(csv_import.content, csv_import.delimiter)
    try:
        next(rows, None)  # the header
        batch: list[tuple[int, list[str]]] = []
        for index, cells in enumerate(rows):
            if index < csv_import.next_row:
                continue
            batch.append((index, cells))
            if len(batch) >= BATCH_SIZE:
                if not commit(batch):
                    return csv_import.state
                batch = []
                if after_batch:
                    after_batch(csv_import.next_row)
        if batch and not commit(batch):
            return csv_import.state
    except parsing.CsvFileError as exc:
        return _finish(csv_import, owner, error=str(exc))
    except Exception:
        logger.exception("CSV import %s failed at row %s", import_id, csv_import.next_row)
        return _finish(
            csv_import,
            owner,
            error=(
                f"The import stopped at row {csv_import.next_row + 2} after an unexpected "
                "error; the rows before it are saved."
            ),
        )
    statistics.finish()
    return _finish(csv_import, owner)


def _round_robin_position(csv_import: CsvImport) -> int | None:
    """Who the user's previous round-robin import gave its last new lead to: this one starts
    with the next member."""
    return (
        Scope.of_user_id(csv_import.user_id)
        .own(CsvImport)
        .filter(assign=Assign.ROUND_ROBIN, assign_last_user_id__isnull=False)
        .exclude(pk=csv_import.pk)
        .order_by("-id")
        .values_list("assign_last_user_id", flat=True)
        .first()
    )


def _commit_batch(
    csv_import: CsvImport,
    owner: str,
    batch: list[tuple[int, list[str]]],
    loads: dict[int, int] | None = None,
) -> bool:
    """Write one batch with its checkpoint. False if another run got there first."""
    start = batch[0][0]
    try:
        with transaction.atomic():
            current = (
                CsvImport.objects.select_for_update()
                .filter(pk=csv_import.pk)
                .values_list("state", "lease_owner", "next_row", "cancel_requested")
                .first()
            )
            if current is None or current[:3] != (CsvImport.State.RUNNING, owner, start):
                # Another worker took the import over, or it was stopped.
                csv_import.refresh_from_db()
                return False
            if current[3]:
                _finish(csv_import, owner, state=CsvImport.State.CANCELLED)
                return False
            counts = _write_batch(csv_import=csv_import, batch=batch, loads=loads)
            CsvRejection.objects.bulk_create(counts.rejections)
            csv_import.processed += len(batch)
            csv_import.created += counts.created
            csv_import.updated += counts.updated
            csv_import.rejected += len(counts.rejections)
            csv_import.next_row = batch[-1][0] + 1
            jobs.job_renew(
                CsvImport,
                csv_import.pk,
                owner,
                processed=csv_import.processed,
                created=csv_import.created,
                updated=csv_import.updated,
                rejected=csv_import.rejected,
                next_row=csv_import.next_row,
                assign_last_user_id=csv_import.assign_last_user_id,
            )
    except Exception:
        csv_import.refresh_from_db()
        raise
    return True


def _finish(csv_import: CsvImport, owner: str, *, error: str = "", state: str | None = None) -> str:
    if state is None:
        if error:
            state = CsvImport.State.FAILED
        elif csv_import.rejected and csv_import.rejected == csv_import.processed:
            state = CsvImport.State.FAILED
            error = "No row could be imported: every row was rejected (see the reasons below)."
        elif csv_import.rejected:
            state = CsvImport.State.PARTIAL
        else:
            state = CsvImport.State.SUCCEEDED
    jobs.job_finish(CsvImport, csv_import.pk, owner, state, error)
    csv_import.refresh_from_db()
    return csv_import.state
