"""A CSV import of leads: the uploaded text, its column mapping, its progress and its rejects."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from crm.jobs import Job, JobPolicy, JobState, state_choices
from leads.models import Assign


class CsvImport(Job):
    """A CSV file being imported: a background job (crm.jobs) whose checkpoint is a row."""

    class Mode(models.TextChoices):
        CREATE = "create", "Create only"
        # An existing lead (same email) gets what it lacks: empty fields filled, missing
        # custom attributes added, the status only moved forward.
        UPSERT = "upsert", "Create, or fill the empty fields of the lead with that email"
        OVERWRITE = "overwrite", "Create, or overwrite the lead with that email"

    State = JobState

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,  # served by the (user, id) index below
    )
    filename = models.CharField(max_length=255)
    # The decoded file, kept in the database so any worker can read it (no shared disk).
    content = models.TextField()
    # SHA-256 of the decoded content: the preview warns when the same file was imported before.
    content_digest = models.CharField(max_length=64, blank=True, default="")
    delimiter = models.CharField(max_length=1, default=",")
    # Said to the user on the preview, e.g. that the file was read as Windows-1252.
    note = models.CharField(max_length=255, blank=True, default="")
    headers = models.JSONField(default=list)
    # {"0": "email", "1": "custom:Region", "2": "ignore", …}: column index → field.
    mapping = models.JSONField(default=dict, blank=True)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.CREATE)
    # What each value of the Status column becomes (parsing.StatusRules.to_json): {"values":
    # {"open": "new", "bad timing": "lost", "vip": "ignore", …}, "other": ""}.
    status_values = models.JSONField(default=dict, blank=True)
    # How "03/04/2024" style creation dates read: "dmy", "mdy", or "" (not chosen).
    date_order = models.CharField(max_length=3, blank=True, default="")
    # Who the new leads go to (leads.assignment), as the preview's form chose: the importing
    # user, or, for a team's manager, the members of ``assign_to`` (user ids; null: every
    # active rep) in turn or by load. ``assign_last_user_id``: who got the last one so far,
    # saved with each batch; round robin starts after the one the user's previous
    # round-robin import ended on, so consecutive files go on around the team.
    assign = models.CharField(max_length=12, choices=Assign.choices, default=Assign.OWNER)
    assign_to = models.JSONField(null=True, blank=True)
    assign_last_user_id = models.BigIntegerField(null=True, blank=True)
    state = models.CharField(
        max_length=12,
        choices=state_choices(
            labels={"pending": "Waiting for a mapping", "partial": "Finished with rejected rows"}
        ),
        default=JobState.PENDING,
    )
    total_rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    # Checkpoint: index of the first data row not yet committed. A rerun starts here.
    next_row = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["user", "id"], name="csvimport_user_id"),
            models.Index(fields=["user", "content_digest"], name="csvimport_user_digest"),
        ]

    def __str__(self) -> str:
        return f"{self.filename} ({self.state})"

    @classmethod
    def policy(cls) -> JobPolicy:
        # An import commits a batch of rows well within this, renewing its lease each time.
        return JobPolicy(
            lease_seconds=settings.CSV_IMPORT_STALL_SECONDS,
            max_attempts=settings.CSV_IMPORT_MAX_ATTEMPTS,
            requeue_after=settings.CSV_IMPORT_STALL_SECONDS,
        )

    def cancelled_message(self) -> str:
        return ""  # the page says "Cancelled" already

    def gave_up_message(self) -> str:
        return (
            f"The import stopped responding {self.attempts} times, at row {self.next_row + 2}; "
            "the rows before it are saved. Import the rest again as a new file."
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
