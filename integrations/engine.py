"""The sync engine: claim a run, execute it page by page, resume it after any stop.

A run moves queued → running → succeeded | partial | failed | cancelled. Each page is fetched
from (or sent to) the vendor outside any transaction, then written in one short transaction
together with the run's counters and checkpoint, so a crash at any moment leaves a run that
resumes exactly after its last written page: nothing lost, nothing doubled.

Retries live in one layer, the runner (the Celery task or the ``sync`` command): this module
returns ``Retry`` when a transient fault stopped a run, and the runner calls it again later.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import F, Q

from crm import jobs
from crm.jobs import LeaseLost
from integrations import providers
from integrations.http import AuthError, ProviderError, TransientError
from integrations.importer import import_records, record_digest
from integrations.models import ExternalLink, Integration, SyncFailure, SyncRun
from integrations.records import ExportLead, Page, ProviderClient
from leads.filters import LeadFilterSet
from leads.models import Company, EmailStatus, Lead
from leads.scope import Scope
from leads.selectors import LeadFilters, filter_leads
from leads.services import PlannerStatistics

logger = logging.getLogger(__name__)

State = SyncRun.State
Direction = SyncRun.Direction
FINISHED = (State.SUCCEEDED, State.PARTIAL, State.FAILED, State.CANCELLED)


class RunAlreadyActive(Exception):
    def __init__(self, run: SyncRun) -> None:
        self.run = run
        super().__init__(f"run {run.pk} is already {run.state}")


class RunCancelled(Exception):
    pass


@dataclass
class Retry:
    delay: float
    reason: str


@dataclass
class Done:
    state: str


Outcome = Retry | Done


# --- claiming -------------------------------------------------------------------------------


def run_claim(
    *,
    integration: Integration,
    direction: str,
    params: dict[str, Any] | None = None,
    trigger: str = "manual",
) -> SyncRun:
    """Create a queued run, or raise RunAlreadyActive with the one already queued/running.

    The database's partial unique index is the lock: two requests at the same moment cannot
    both create a run for the same integration and direction.
    """
    try:
        with transaction.atomic():
            return SyncRun.objects.create(
                integration=integration,
                user_id=integration.user_id,
                provider=integration.provider,
                direction=direction,
                params=params or {},
                trigger=trigger,
            )
    except IntegrityError:
        active = SyncRun.objects.filter(
            integration=integration, direction=direction, state__in=SyncRun.ACTIVE_STATES
        ).first()
        if active is None:  # it finished in between: try once more
            return run_claim(
                integration=integration, direction=direction, params=params, trigger=trigger
            )
        raise RunAlreadyActive(active) from None


def run_cancel(*, run: SyncRun) -> SyncRun:
    """Ask a run to stop. A queued run stops at once; a running one after its current page."""
    return jobs.job_cancel(SyncRun, run)


def _take_lease(run_id: int, owner: str) -> bool:
    return jobs.job_claim(SyncRun, run_id, owner)


def _renew_and_save_progress(run: SyncRun, owner: str, fields: dict[str, Any]) -> None:
    """Inside the page's transaction: move counters and checkpoint, if we still own the run."""
    jobs.job_renew(SyncRun, run.pk, owner, **fields)


def _cancel_requested(run: SyncRun) -> bool:
    return jobs.job_cancel_requested(SyncRun, run.pk)


def _finish(run: SyncRun, owner: str, state: str, error: str | None = None) -> Done:
    jobs.job_finish(SyncRun, run.pk, owner, state, error)
    return Done(state)


def _final_state(run: SyncRun) -> str:
    run.refresh_from_db(fields=["failed", "processed"])
    return State.PARTIAL if run.failed else State.SUCCEEDED


# --- executing ------------------------------------------------------------------------------


ProgressCallback = Callable[[SyncRun], None]


def run_execute(
    *,
    run_id: int,
    owner: str | None = None,
    client: ProviderClient | None = None,
    on_progress: ProgressCallback | None = None,
) -> Outcome:
    """Execute (or resume) a run until it finishes or a transient fault stops it."""
    owner = owner or uuid.uuid4().hex
    run = SyncRun.objects.select_related("integration").filter(pk=run_id).first()
    if run is None or run.state in FINISHED:
        return Done(run.state if run else "missing")
    if not _take_lease(run.pk, owner):
        # Someone else is executing it right now (or it just finished).
        run.refresh_from_db()
        return Done(run.state)
    run.refresh_from_db()
    integration = run.integration
    try:
        if run.cancel_requested:
            raise RunCancelled()
        if client is None:
            client = providers.client_for(integration)
        stopped_short = None
        if run.direction == Direction.IMPORT:
            stopped_short = _execute_import(run, integration, client, owner, on_progress)
        else:
            _execute_export(run, integration, client, owner, on_progress)
        if stopped_short:
            # The vendor could not serve the whole list: never a plain success.
            return _finish(run, owner, State.PARTIAL, stopped_short)
        return _finish(run, owner, _final_state(run))
    except RunCancelled:
        return _finish(run, owner, State.CANCELLED, "Cancelled.")
    except LeaseLost:
        logger.warning("sync run %s: lease lost to another worker", run.pk)
        return Done("lease-lost")
    except AuthError as exc:
        Integration.objects.filter(pk=integration.pk).update(
            state=Integration.State.NEEDS_CREDENTIALS, last_error=_auth_message(integration, exc)
        )
        return _finish(run, owner, State.FAILED, _auth_message(integration, exc))
    except (TransientError, OperationalError, IntegrityError) as exc:
        return _transient(run, owner, exc)
    except ProviderError as exc:
        Integration.objects.filter(pk=integration.pk).update(last_error=exc.message)
        return _finish(run, owner, State.FAILED, exc.message)
    except Exception:
        logger.exception("sync run %s failed unexpectedly", run.pk)
        return _finish(
            run, owner, State.FAILED, "An internal error stopped this run; it was logged."
        )


def _auth_message(integration: Integration, exc: AuthError) -> str:
    name = integration.spec.label
    return (
        f"{name} refused the saved credentials ({exc.message}). "
        "Enter new credentials for this integration, then start the run again."
    )


def _transient(run: SyncRun, owner: str, exc: Exception) -> Outcome:
    run.refresh_from_db(fields=["attempts"])
    reason = getattr(exc, "message", None) or f"database busy ({type(exc).__name__})"
    if run.attempts >= settings.SYNC_MAX_ATTEMPTS:
        give_up = getattr(exc, "give_up_message", None)
        return _finish(
            run,
            owner,
            State.FAILED,
            give_up or f"Gave up after {run.attempts} attempts; last problem: {reason}",
        )
    retry_after = getattr(exc, "retry_after", None)
    delay = (
        retry_after
        if retry_after is not None
        else settings.SYNC_RETRY_DELAY * (2 ** min(run.attempts - 1, 8))
    )
    delay = min(max(delay, 0.0), settings.SYNC_RETRY_MAX_DELAY)
    jobs.job_release(SyncRun, run.pk, owner, retry_in=delay, error=f"Waiting to retry: {reason}")
    return Retry(delay, reason)


def _execute_import(
    run: SyncRun,
    integration: Integration,
    client: ProviderClient,
    owner: str,
    on_progress: ProgressCallback | None,
) -> str | None:
    """Import every page; the page's ``stopped_short`` message if the list was cut short."""
    list_id = integration.import_list_id
    list_arg = None if list_id in (None, "") else str(list_id)
    label = integration.spec.label

    def fetch(checkpoint: dict[str, Any] | None) -> Page:
        try:
            return client.fetch_page(list_arg, _vendor_checkpoint(checkpoint))
        finally:
            # The Snov.io token store may have written from this thread: give it back.
            db_connection.close()

    # While one page is written, the next is already being fetched: the run takes about
    # max(fetch, write) per page instead of their sum. The checkpoint only ever moves after
    # a page is written, so a fault in a prefetch resumes exactly where it should.
    statistics = PlannerStatistics(
        {
            Lead: ["user", "email"],
            ExternalLink: ["integration", "vendor_id", "lead"],
            Company: ["user", "domain", "name"],
        }
    )
    checkpoint = run.checkpoint
    stopped_short: str | None = None
    # Least loaded: each member's open leads, counted on the first page that assigns and kept
    # up as the run hands leads out (not counted again for every page).
    loads: dict[int, int] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"sync-{run.pk}") as pool:
        pending: Future[Page] | None = pool.submit(fetch, checkpoint)
        try:
            while pending is not None:
                if _cancel_requested(run):
                    raise RunCancelled()
                page = pending.result()
                pending = (
                    pool.submit(fetch, page.next_checkpoint)
                    if page.next_checkpoint is not None
                    else None
                )
                stopped_short = page.stopped_short or stopped_short
                if any(record.needs_details for record in page.records):
                    created = _import_detailed_page(
                        run, integration, client, page, checkpoint, owner, label, on_progress, loads
                    )
                else:
                    created = _write_import_page(run, integration, page, owner, label, loads)
                statistics.wrote(created)
                checkpoint = page.next_checkpoint
                if on_progress is not None:
                    run.refresh_from_db()
                    on_progress(run)
        finally:
            if pending is not None:
                pending.cancel()
    statistics.finish()
    return stopped_short


# Inside a run's checkpoint: how many records of the page at that checkpoint are written
# already (a page whose records are fetched in detail is written in chunks).
WITHIN_KEY = "within_page"


def _vendor_checkpoint(checkpoint: dict[str, Any] | None) -> dict[str, Any] | None:
    """The checkpoint as the client made it, without the engine's own key."""
    if not checkpoint or WITHIN_KEY not in checkpoint:
        return checkpoint
    rest = {key: value for key, value in checkpoint.items() if key != WITHIN_KEY}
    return rest or None


def _import_detailed_page(
    run: SyncRun,
    integration: Integration,
    client: ProviderClient,
    page: Page,
    checkpoint: dict[str, Any] | None,
    owner: str,
    label: str,
    on_progress: ProgressCallback | None,
    loads: dict[int, int] | None = None,
) -> int:
    """A page of summaries: details are fetched only for records that are new or whose
    summary changed since the last import, a chunk at a time, each chunk written (with the
    position reached inside the page) before the next is fetched. A slow detail endpoint
    (Snov.io: one request a prospect, 60 a minute) still shows progress and resumes where it
    stopped."""
    fill_details = getattr(client, "fill_details", None)
    chunk_size = max(1, int(getattr(client, "details_chunk", 10)))
    try:
        done = max(0, int((checkpoint or {}).get(WITHIN_KEY, 0)))
    except (TypeError, ValueError):
        done = 0
    records = page.records
    created = 0
    position = min(done, len(records))
    while position < len(records):
        if _cancel_requested(run):
            raise RunCancelled()
        chunk = records[position : position + chunk_size]
        summary_digests = {
            id(record): record_digest(record) for record in chunk if record.vendor_id
        }
        stored = dict(
            ExternalLink.objects.filter(
                integration=integration,
                vendor_id__in=[record.vendor_id for record in chunk if record.vendor_id],
            ).values_list("vendor_id", "record_hash")
        )
        wanted = [
            record
            for record in chunk
            if record.needs_details
            and record.vendor_id
            and stored.get(record.vendor_id) != summary_digests[id(record)]
        ]
        if wanted and fill_details is not None:
            fill_details(wanted)
        for record in chunk:
            if id(record) in summary_digests:
                record.digest = summary_digests[id(record)]
        position += len(chunk)
        last = position >= len(records)
        part = Page(
            records=chunk,
            next_checkpoint=(
                page.next_checkpoint if last else {**(checkpoint or {}), WITHIN_KEY: position}
            ),
            total=page.total,
        )
        created += _write_import_page(run, integration, part, owner, label, loads)
        if on_progress is not None and not last:
            run.refresh_from_db()
            on_progress(run)
    if not records or done >= len(records):
        # Nothing left to write on this page (or it was empty): still move the checkpoint.
        created += _write_import_page(
            run,
            integration,
            Page(records=[], next_checkpoint=page.next_checkpoint, total=page.total),
            owner,
            label,
            loads,
        )
    return created


def _write_import_page(
    run: SyncRun,
    integration: Integration,
    page: Page,
    owner: str,
    label: str,
    loads: dict[int, int] | None = None,
) -> int:
    """Write and commit one page with the run's progress; the number of leads it created."""
    with transaction.atomic():
        result = import_records(
            integration=integration, records=page.records, source_label=label, loads=loads
        )
        if result.failures:
            SyncFailure.objects.bulk_create(
                SyncFailure(run=run, record=record[:255], detail=detail)
                for record, detail in result.failures
            )
        fields: dict[str, Any] = {
            "checkpoint": page.next_checkpoint,
            "processed": F("processed") + result.processed,
            "created": F("created") + result.created,
            "updated": F("updated") + result.updated,
            "unchanged": F("unchanged") + result.unchanged,
            "skipped": F("skipped") + result.skipped,
            "skipped_deleted": F("skipped_deleted") + result.deleted,
            "failed": F("failed") + len(result.failures),
            "error": None,
        }
        if page.total is not None:
            fields["total"] = page.total
        _renew_and_save_progress(run, owner, fields)
    return result.created


def export_queryset(run: SyncRun):
    params = run.params or {}
    # Everything the person who started it may see: a manager's export may hold the team's
    # leads (narrowed with the user_id filter); a rep's, their own.
    qs = Scope.of_person(run.user_id).leads()
    if params.get("lead_ids"):
        qs = qs.filter(id__in=params["lead_ids"])
    elif params.get("filters"):
        # Stored as the text the request gave, validated again here (it was valid at claim).
        filterset = LeadFilterSet(data=params["filters"])
        if not filterset.is_valid():
            raise ProviderError(f"The export's filters are no longer valid: {filterset.errors}")
        qs = filter_leads(qs, LeadFilters.from_cleaned(filterset.form.cleaned_data))
    return qs


def _export_target(integration: Integration) -> dict[str, Any]:
    if integration.export_campaign_id not in (None, ""):
        return {"campaign_id": integration.export_campaign_id}
    if integration.export_list_id not in (None, ""):
        return {"list_id": integration.export_list_id}
    if integration.spec.exports_without_list:
        return {"list_id": None}  # e.g. Hunter keeps leads outside lists too
    name = integration.spec.label
    raise ProviderError(
        f"Choose the {name} list (or campaign) to export to in the integration's settings."
    )


def _execute_export(
    run: SyncRun,
    integration: Integration,
    client: ProviderClient,
    owner: str,
    on_progress: ProgressCallback | None,
) -> None:
    target = _export_target(integration)
    queryset = export_queryset(run)
    if run.total is None:
        SyncRun.objects.filter(pk=run.pk).update(total=queryset.count())
    after = int((run.checkpoint or {}).get("after_id", 0))
    batch_size = max(1, int(client.export_batch_size))
    while True:
        if _cancel_requested(run):
            raise RunCancelled()
        leads = list(
            queryset.filter(id__gt=after).order_by("id").select_related("company")[:batch_size]
        )
        if not leads:
            return
        # lead id → (link id, vendor id, what its last export sent)
        links: dict[int, tuple[int, str, Any]] = {
            lead_id: (link_id, vendor_id, exported)
            for link_id, lead_id, vendor_id, exported in ExternalLink.objects.filter(
                integration=integration, lead_id__in=[lead.pk for lead in leads]
            ).values_list("id", "lead_id", "vendor_id", "exported")
        }
        # A do-not-contact lead never reaches a vendor, whatever the export names; nor does an
        # address known to bounce (it would only hurt the sender's reputation there).
        held = {lead.pk for lead in leads if _held_back(lead)}
        sendable = [lead for lead in leads if lead.pk not in held]
        outcomes = (
            client.export_batch(target, [_export_lead(lead, links) for lead in sendable])
            if sendable
            else []
        )
        by_lead = {outcome.lead_id: outcome for outcome in outcomes}
        created = updated = unchanged = skipped = 0
        failures: list[SyncFailure] = []
        new_links: list[ExternalLink] = []
        changed_links: list[ExternalLink] = []
        for lead in leads:
            if lead.pk in held:
                skipped += 1
                continue
            outcome = by_lead.get(lead.pk)
            if outcome is None:
                failures.append(
                    SyncFailure(
                        run=run, lead=lead, record=_record_name(lead), detail="no answer for it"
                    )
                )
                continue
            if not outcome.ok:
                failures.append(
                    SyncFailure(
                        run=run,
                        lead=lead,
                        record=_record_name(lead),
                        detail=outcome.detail[:2000] or "refused",
                    )
                )
                continue
            if outcome.skipped:
                skipped += 1
            elif outcome.unchanged:
                unchanged += 1
            elif outcome.created:
                created += 1
            else:
                updated += 1
            link = links.get(lead.pk)
            if link is None:
                if outcome.vendor_id:
                    new_links.append(
                        ExternalLink(
                            integration=integration,
                            vendor_id=str(outcome.vendor_id)[:128],
                            lead=lead,
                            exported=outcome.exported,
                        )
                    )
            elif outcome.exported is not None and outcome.exported != link[2]:
                changed_links.append(ExternalLink(id=link[0], exported=outcome.exported))
        after = leads[-1].pk
        with transaction.atomic():
            if new_links:
                ExternalLink.objects.bulk_create(new_links, ignore_conflicts=True)
            if changed_links:
                ExternalLink.objects.bulk_update(changed_links, ["exported"], batch_size=500)
            if failures:
                SyncFailure.objects.bulk_create(failures)
            _renew_and_save_progress(
                run,
                owner,
                {
                    "checkpoint": {"after_id": after},
                    "processed": F("processed") + len(leads),
                    "created": F("created") + created,
                    "updated": F("updated") + updated,
                    "unchanged": F("unchanged") + unchanged,
                    "skipped": F("skipped") + skipped,
                    "failed": F("failed") + len(failures),
                    "error": None,
                },
            )
        if on_progress is not None:
            run.refresh_from_db()
            on_progress(run)
        if len(leads) < batch_size:
            return


def _held_back(lead: Lead) -> bool:
    """Never exported: marked do-not-contact, or an email known to bounce."""
    return lead.do_not_contact or lead.email_status == EmailStatus.INVALID


def held_back_q() -> Q:
    """The same rule as a filter (the export page counts with it)."""
    return Q(do_not_contact=True) | Q(email_status=EmailStatus.INVALID)


def _record_name(lead: Lead) -> str:
    return (lead.email or f"lead {lead.pk}")[:255]


def _export_lead(lead: Lead, links: dict[int, tuple[int, str, Any]]) -> ExportLead:
    company = lead.company
    link = links.get(lead.pk)
    return ExportLead(
        lead_id=lead.pk,
        email=lead.email,
        first_name=lead.first_name,
        last_name=lead.last_name,
        position=lead.position,
        phone=lead.phone,
        linkedin_url=lead.linkedin_url,
        company_name=company.name,
        company_domain=company.domain,
        website=company.website or (f"https://{company.domain}" if company.domain else ""),
        country_code=company.country_code,
        status=lead.status,
        notes=lead.notes,
        custom_attributes=dict(lead.custom_attributes or {}),
        vendor_id=link[1] if link else None,
        last_exported=link[2] if link else None,
    )


# --- recovery -------------------------------------------------------------------------------


def runs_to_recover() -> list[int]:
    """Runs no live worker holds: lapsed leases, and queued runs whose message was lost."""
    return jobs.jobs_to_recover(SyncRun)
