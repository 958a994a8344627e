"""A CSV import of leads: the uploaded text, its column mapping, its progress and its rejects."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CsvImport(models.Model):
    class Mode(models.TextChoices):
        CREATE = "create", "Create only"
        # An existing lead (same email) gets what it lacks: empty fields filled, missing
        # custom attributes added, the status only moved forward.
        UPSERT = "upsert", "Create, or fill the empty fields of the lead with that email"
        OVERWRITE = "overwrite", "Create, or overwrite the lead with that email"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for a mapping"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Finished"
        PARTIAL = "partial", "Finished with rejected rows"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE_STATES = (State.QUEUED, State.RUNNING)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # served by the (user, id) index below
    )
    filename = models.CharField(max_length=255)
    # The decoded file, kept in the database so any worker can read it (no shared disk).
    content = models.TextField()
    delimiter = models.CharField(max_length=1, default=",")
    # Said to the user on the preview, e.g. that the file was read as Windows-1252.
    note = models.CharField(max_length=255, blank=True, default="")
    headers = models.JSONField(default=list)
    # {"0": "email", "1": "custom:Region", "2": "ignore", …}: column index → field.
    mapping = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.CREATE)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # Checkpoint: index of the first data row not yet committed. A rerun starts here.
    next_row = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    # The last sign of life of the job: queued, claimed by a worker, or a batch committed. An
    # active import that has not moved for CSV_IMPORT_STALL_SECONDS is requeued by the sweep.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # How many times a worker has claimed it; past CSV_IMPORT_MAX_ATTEMPTS the sweep gives up.
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "id"], name="csvimport_user_id")]

    def __str__(self) -> str:
        return f"{self.filename} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def is_finished(self) -> bool:
        return self.state in (
            self.State.SUCCEEDED,
            self.State.PARTIAL,
            self.State.FAILED,
            self.State.CANCELLED,
        )

    @property
    def unchanged(self) -> int:
        return max(self.processed - self.created - self.updated - self.rejected, 0)


class CsvRejection(models.Model):
    csv_import = models.ForeignKey(
        CsvImport, on_delete=models.CASCADE, related_name="rejections", db_index=False
    )
    # As a spreadsheet numbers it: the header is row 1, the first data row is row 2.
    row_number = models.PositiveIntegerField()
    values = models.JSONField(default=list)
    reason = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["csv_import", "id"], name="csvrejection_import_id")]

    def __str__(self) -> str:
        return f"row {self.row_number}: {self.reason}"
