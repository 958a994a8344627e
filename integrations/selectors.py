"""Reads for integrations and sync runs, always scoped to one user."""

from __future__ import annotations

from crm.errors import NotFound
from integrations.models import Integration, SyncFailure, SyncRun
from integrations.serializers import RUN_FIELDS, integration_to_dict
from leads.scope import Scope
from leads.selectors import Page, keyset_page


def integration_get(*, user, integration_id: int) -> Integration:
    integration = Scope.of(user).own(Integration).filter(pk=integration_id).first()
    if integration is None:
        raise NotFound
    return integration


def integration_list(*, user) -> Page:
    # One per provider at most: three rows, no paging needed beyond the envelope.
    return Page(
        [integration_to_dict(i) for i in Scope.of(user).own(Integration).order_by("-id")],
        None,
    )


def run_get(*, user, run_id: int) -> SyncRun:
    run = Scope.of(user).own(SyncRun).filter(pk=run_id).first()
    if run is None:
        raise NotFound
    return run


def run_list(
    *, user, integration_id: int | None, state: str | None, cursor: int | None, limit: int
) -> Page:
    qs = Scope.of(user).own(SyncRun)
    if integration_id is not None:
        qs = qs.filter(integration_id=integration_id)
    if state:
        qs = qs.filter(state=state)
    rows, next_cursor = keyset_page(qs.values(*RUN_FIELDS), cursor=cursor, limit=limit)
    return Page(rows, next_cursor)


def failure_list(*, user, run_id: int, cursor: int | None, limit: int) -> Page:
    run_get(user=user, run_id=run_id)
    qs = SyncFailure.objects.filter(run_id=run_id).values("id", "record", "detail", "at")
    rows, next_cursor = keyset_page(qs, cursor=cursor, limit=limit)
    return Page(rows, next_cursor)
