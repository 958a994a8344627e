"""Deletions that stick: a tombstone for each vendor link of a deleted lead, read by imports."""

from __future__ import annotations

from django.db.models import Q, Value
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
    """(vendor ids, emails) of these records that a person deleted: one query a page, two
    index look-ups (the integration repeated in each branch, so SQLite's planner ORs the two
    indexes instead of reading every tombstone of the integration)."""
    wanted = Q(integration_id=integration_id, vendor_id__in=vendor_ids)
    emails = [email for email in emails if email]
    if emails:
        wanted |= Q(integration_id=integration_id, email__in=emails)
    ids, mails = set(), set()
    for vendor_id, email in ImportTombstone.objects.filter(wanted).values_list(
        "vendor_id", "email"
    ):
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
