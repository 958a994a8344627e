"""Deletions that stick: a tombstone for each vendor link of a deleted lead, read by imports."""

from __future__ import annotations

from django.db import connection
from django.db.models import Value
from django.db.models.functions import Concat, Trim
from django.utils import timezone

from integrations.models import ExternalLink, ImportTombstone


def tombstones_for_deleted_leads(*, lead_ids: list[int], actor=None, **kwargs) -> None:
    """Receiver of ``leads.signals.leads_deleting``: remember what each deleted lead was at
    each vendor, before its links go with it."""
    now = timezone.now()
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    for start in range(0, len(lead_ids), 500):
        links = ExternalLink.objects.filter(lead_id__in=lead_ids[start : start + 500]).values_list(
            "integration_id",
            "vendor_id",
            "lead__email",
            Trim(Concat("lead__first_name", Value(" "), "lead__last_name")),
        )
        ImportTombstone.objects.bulk_create(
            [
                ImportTombstone(
                    integration_id=integration_id,
                    vendor_id=vendor_id,
                    email=email,
                    name=name[:301],
                    deleted_at=now,
                    deleted_by_id=actor_id,
                )
                for integration_id, vendor_id, email, name in links
            ],
            ignore_conflicts=True,
        )


def tombstoned(
    *, integration_id: int, vendor_ids: list[str], emails: list[str]
) -> tuple[set[str], set[str]]:
    """(vendor ids, emails) of these records that a person deleted: one statement a page, two
    index look-ups (the integration repeated in each branch, so SQLite's planner ORs the two
    indexes instead of reading every tombstone of the integration).

    Written out: every import page asks it, and the ORM's building of two lists of 100
    values cost 5 % of a first import's time."""
    emails = [email for email in emails if email]
    if not vendor_ids and not emails:
        return set(), set()
    table = ImportTombstone._meta.db_table
    branches: list[str] = []
    params: list[int | str] = []
    for column, values in (("vendor_id", vendor_ids), ("email", emails)):
        if values:
            marks = ", ".join(["%s"] * len(values))
            branches.append(
                f'SELECT "vendor_id", "email" FROM "{table}" '  # noqa: S608
                f'WHERE "integration_id" = %s AND "{column}" IN ({marks})'
            )
            params += [integration_id, *values]
    ids, mails = set(), set()
    with connection.cursor() as cursor:
        cursor.execute(" UNION ".join(branches), params)
        for vendor_id, email in cursor.fetchall():
            ids.add(vendor_id)
            if email:
                mails.add(email)
    return ids, mails


def tombstone_restore(*, integration, tombstone_ids: list[int] | None = None) -> int:
    """Let imports bring these records back (all of the integration's when ``None``)."""
    qs = ImportTombstone.objects.filter(integration=integration)
    if tombstone_ids is not None:
        qs = qs.filter(pk__in=tombstone_ids)
    return qs.delete()[0]
