"""A rep's connected vendor accounts, the links between vendor records and leads, sync runs."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from crm.jobs import Job, JobPolicy, JobState, state_choices
from integrations.registry import PROVIDERS
from integrations.spec import ProviderSpec
from leads.models import Assign, Lead

# The vendors of ``integrations.registry``, as model choices (Provider.HUNTER == "hunter").
Provider = models.TextChoices(  # type: ignore[call-overload]
    "Provider", [(key.upper(), (key, spec.label)) for key, spec in PROVIDERS.items()]
)


class Schedule(models.TextChoices):
    MANUAL = "manual", "Manual"
    HOURLY = "hourly", "Hourly"
    DAILY = "daily", "Daily"


class Integration(models.Model):
    class State(models.TextChoices):
        ACTIVE = "active", "Connected"
        NEEDS_CREDENTIALS = "needs_credentials", "Needs new credentials"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="integrations"
    )
    provider = models.CharField(max_length=16, choices=Provider.choices)
    # Fernet tokens (see integrations.crypto); never decrypted outside the sync code.
    credentials_encrypted = models.TextField(editable=False)
    # The last characters of the key, so a person can tell which one is stored.
    credentials_hint = models.CharField(max_length=16, blank=True, default="", editable=False)
    # Snov.io's short-lived access token, encrypted too, reused across runs until it expires.
    access_token_encrypted = models.TextField(blank=True, default="", editable=False)
    access_token_expires_at = models.FloatField(null=True, blank=True, editable=False)
    # Vendor ids exactly as given (Hunter's are integers, the others strings), or null.
    import_list_id = models.JSONField(null=True, blank=True)
    export_list_id = models.JSONField(null=True, blank=True)
    export_campaign_id = models.JSONField(null=True, blank=True)
    schedule = models.CharField(max_length=8, choices=Schedule.choices, default=Schedule.MANUAL)
    state = models.CharField(max_length=20, choices=State.choices, default=State.ACTIVE)
    # Per-provider settings beyond the common ones (Snov.io: full_profiles, custom_field_map).
    options = models.JSONField(default=dict, blank=True)
    # Who an import's new leads go to (leads.assignment): the owner, or, for a team's
    # manager, the members of ``assign_to`` (user ids; null: every active rep) in turn or by
    # load. ``assign_last_user_id``: who got the last one, so round robin continues there
    # on the next page and the next run (saved with each page's checkpoint).
    assign = models.CharField(max_length=12, choices=Assign.choices, default=Assign.OWNER)
    assign_to = models.JSONField(null=True, blank=True)
    assign_last_user_id = models.BigIntegerField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "provider"], name="integration_one_per_provider"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()} ({self.user})"

    @property
    def spec(self) -> ProviderSpec:
        """What the vendor package says about itself (``integrations.registry``)."""
        return PROVIDERS[self.provider]


class ExternalLink(models.Model):
    """This vendor record is that lead: the identity that keeps re-syncs from duplicating."""

    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="links")
    vendor_id = models.CharField(max_length=128)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="external_links")
    # A digest of the vendor record as last imported: an unchanged record is skipped without
    # reading its lead, and a local edit is not overwritten by the same vendor data again.
    record_hash = models.CharField(max_length=32, blank=True, default="")
    # What the client reported as sent on the last export (ExportOutcome.exported): the next
    # export sends only what changed since. Null until the lead is first exported.
    exported = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["integration", "vendor_id"], name="link_vendor_unique"),
            models.UniqueConstraint(fields=["integration", "lead"], name="link_lead_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.integration.provider}:{self.vendor_id} → lead {self.lead_id}"


class ImportTombstone(models.Model):
    """A vendor record whose lead a person deleted: imports skip it (by its vendor id, or by its
    email) until someone restores it on the integration's page, so a deletion sticks."""

    # No index of its own: the two below start with it, and with one here SQLite's planner
    # scanned all of an integration's tombstones instead of the two index look-ups.
    integration = models.ForeignKey(
        Integration, on_delete=models.CASCADE, related_name="tombstones", db_index=False
    )
    vendor_id = models.CharField(max_length=128)
    email = models.CharField(max_length=254, blank=True, default="")
    name = models.CharField(max_length=301, blank=True, default="")  # as the lead was named
    deleted_at = models.DateTimeField()
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["integration", "vendor_id"], name="tombstone_vendor_unique"
            ),
        ]
        indexes = [models.Index(fields=["integration", "email"], name="tombstone_email")]

    def __str__(self) -> str:
        return f"{self.integration.provider}:{self.vendor_id} (deleted {self.name or self.email})"


class SyncRun(Job):
    """A vendor import or export: a background job (crm.jobs) with a vendor checkpoint."""

    class Direction(models.TextChoices):
        IMPORT = "import", "Import"
        EXPORT = "export", "Export"

    State = JobState
    # A run never waits for a person: no "pending".
    STATE_CHOICES = state_choices(without=(JobState.PENDING,), labels={"succeeded": "Succeeded"})

    state = models.CharField(max_length=12, choices=STATE_CHOICES, default=JobState.QUEUED)
    integration = models.ForeignKey(Integration, on_delete=models.CASCADE, related_name="runs")
    # Denormalised owner and provider: lists filter by them without joins.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    provider = models.CharField(max_length=16, choices=Provider.choices)
    direction = models.CharField(max_length=8, choices=Direction.choices)
    trigger = models.CharField(max_length=16, default="manual")  # manual, schedule, command
    # What to export: {"lead_ids": [...]} or {"filters": {...}}; {} = all the user's leads.
    params = models.JSONField(default=dict, blank=True)
    # Where to resume: the vendor's offset/page/cursor for imports, the last lead id for exports.
    checkpoint = models.JSONField(null=True, blank=True)
    total = models.PositiveIntegerField(null=True, blank=True)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    # Of those skipped: records whose lead a person deleted (ImportTombstone).
    skipped_deleted = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            # The atomic claim: at most one queued or running run per integration and direction.
            models.UniqueConstraint(
                fields=["integration", "direction"],
                condition=Q(state__in=["queued", "running"]),
                name="syncrun_one_active",
            )
        ]
        indexes = [
            models.Index(fields=["user", "id"], name="syncrun_user_id"),
            models.Index(fields=["integration", "id"], name="syncrun_integration_id"),
            models.Index(fields=["state", "lease_until"], name="syncrun_state_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.direction} #{self.pk} ({self.state})"

    @classmethod
    def policy(cls) -> JobPolicy:
        return JobPolicy(
            lease_seconds=settings.SYNC_LEASE_SECONDS,
            max_attempts=settings.SYNC_MAX_ATTEMPTS,
            requeue_after=settings.SYNC_REQUEUE_AFTER,
        )

    def cancelled_message(self) -> str:
        return "Cancelled before it started." if self.started_at is None else "Cancelled."

    def gave_up_message(self) -> str:
        return (
            f"The run stopped responding {self.attempts} times (a worker died or was stopped "
            "each time); what it synced so far is saved. Start it again to continue."
        )

    # Below these, a rate says little: the first page may be quick and the rest slow.
    ETA_MIN_PROCESSED = 10
    ETA_MIN_SECONDS = 5.0

    @property
    def eta(self) -> tuple[int, datetime.datetime] | None:
        """(minutes left, when it should finish) at the pace so far, while a run with a
        known total runs; None when there is too little to go on. A Snov.io full-profile
        import reads 58 profiles a minute, so its 5,000 prospects take about 87 minutes."""
        if self.state != self.State.RUNNING or not self.total or self.started_at is None:
            return None
        done, total = self.processed, self.total
        if done < self.ETA_MIN_PROCESSED or done >= total:
            return None
        now = timezone.now()
        elapsed = (now - self.started_at).total_seconds()
        if elapsed < self.ETA_MIN_SECONDS:
            return None
        left = elapsed / done * (total - done)
        return max(1, round(left / 60)), now + datetime.timedelta(seconds=left)


class SyncFailure(models.Model):
    run = models.ForeignKey(SyncRun, on_delete=models.CASCADE, related_name="failures")
    # The lead an export failure is about, so the failures table can name and link it.
    lead = models.ForeignKey(
        Lead, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    record = models.CharField(max_length=255)
    detail = models.TextField()
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["run", "id"], name="syncfailure_run_id")]

    def __str__(self) -> str:
        return f"{self.record}: {self.detail[:60]}"
