"""The pipeline's data: companies, leads and each lead's history."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower

from crm.jobs import Job, JobPolicy

# On SQLite, an FTS5 trigram index over Lead.search_text kept in step by triggers
# (migration 0002), so `q` finds substrings without reading every lead.
SEARCH_INDEX_TABLE = "leads_lead_search"
# On SQLite, the columns a search's walk tests, keyed by the lead id (migration 0017): each
# match of the trigram index is looked up there, and its row is read only if it passes.
SEARCH_WALK_INDEX = "lead_search_walk"
# On SQLite, each owner's leads by status and score, the owner keyed as ``user_id + 0``
# (migration 0018): a search under a status and a score range that pass few leads reads them
# here and tests each for the term, instead of walking every match of the term. It holds
# the leads that are no longer new (its WHERE, which a statement must write as it is).
STATUS_SCORE_INDEX = "lead_status_score"
STATUS_SCORE_INDEX_HOLDS = "\"status\" <> 'new'"
# On PostgreSQL, the pg_trgm GIN index of search_text keyed by owner, status (migration
# 0016) and score (0019; a migration keeps its own copy of the name).
SEARCH_TRIGRAM_INDEX = "lead_search_trgm_score"


class Status(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    QUALIFIED = "qualified", "Qualified"
    CONVERTED = "converted", "Converted"
    LOST = "lost", "Lost"


STATUS_ORDER = [s.value for s in Status]
# The company a lead gets when its source (an import, a CSV row) names none.
NO_COMPANY_NAME = "No company"
CLOSED_STATUSES = {Status.CONVERTED.value, Status.LOST.value}


class EmailStatus(models.TextChoices):
    """What the last verification of a lead's email said (vendors.md, "Email verification")."""

    VALID = "valid", "Valid"
    INVALID = "invalid", "Invalid"
    ACCEPT_ALL = "accept_all", "Accept-all"
    WEBMAIL = "webmail", "Webmail"
    DISPOSABLE = "disposable", "Disposable"
    UNKNOWN = "unknown", "Unknown"


class Source(models.TextChoices):
    """Where a change came from; every door names itself."""

    API = "api", "API"
    UI = "ui", "Web UI"
    ADMIN = "admin", "Admin"
    IMPORT = "import", "Import"
    CSV = "csv", "CSV"


class Assign(models.TextChoices):
    """Who the new leads of an import go to (api.md "Teams, roles and assignment"): the
    importing user, or, for a team's manager, the members named (by default every active rep)
    in turn or to whoever has the fewest open leads. ``leads.assignment`` applies it."""

    OWNER = "owner", "Me (the importing user)"
    ROUND_ROBIN = "round_robin", "Round robin over the team"
    LEAST_LOADED = "least_loaded", "Fewest open leads first"


class MergePolicy(models.TextChoices):
    """How an import treats a lead that already exists."""

    FILL = "fill", "Fill empty fields only"
    OVERWRITE = "overwrite", "Overwrite with the file's values"


class Company(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="companies",
        db_index=False,  # served by the (user, id) index below
    )
    name = models.CharField(max_length=255)
    domain = models.CharField(max_length=253, blank=True, default="")
    website = models.CharField(max_length=500, blank=True, default="")
    industry = models.CharField(max_length=255, blank=True, default="")
    size = models.CharField(max_length=64, blank=True, default="")
    country_code = models.CharField(max_length=8, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "companies"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "domain"],
                condition=~Q(domain=""),
                name="company_unique_domain_per_user",
            ),
            models.CheckConstraint(
                condition=Q(domain=Lower("domain")), name="company_domain_lower_case"
            ),
        ]
        indexes = [
            models.Index(fields=["user", "id"], name="company_user_id"),
            models.Index(fields=["user", "name"], name="company_user_name"),
        ]

    def __str__(self) -> str:
        return self.name


class Lead(models.Model):
    # The single-column foreign key indexes would only duplicate the composite ones below.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    # PROTECT: deleting a company never deletes its leads as a side effect.
    company = models.ForeignKey(
        Company, on_delete=models.PROTECT, related_name="leads", db_index=False
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.NEW)
    score = models.PositiveSmallIntegerField(default=0)
    score_is_manual = models.BooleanField(default=False)
    notes = models.TextField(blank=True, default="")
    email = models.CharField(max_length=254, blank=True, default="")
    first_name = models.CharField(max_length=150, blank=True, default="")
    last_name = models.CharField(max_length=150, blank=True, default="")
    position = models.CharField(max_length=255, blank=True, default="")
    phone = models.CharField(max_length=64, blank=True, default="")
    linkedin_url = models.CharField(max_length=500, blank=True, default="")
    source = models.CharField(max_length=255, blank=True, default="")
    custom_attributes = models.JSONField(default=dict, blank=True)
    # What the deal is worth in settings.CURRENCY, and when it should close (api.md). Both
    # optional, NULL when not known.
    deal_value = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    expected_close_date = models.DateField(null=True, blank=True)
    # Never exported to any provider while set (an unsubscribe, or a person's decision).
    # db_default as well: the bulk paths insert rows with explicit column lists.
    do_not_contact = models.BooleanField(default=False, db_default=False)
    do_not_contact_reason = models.CharField(max_length=255, blank=True, default="", db_default="")
    # The last verification fact about the email, and who gave it (a provider name).
    email_status = models.CharField(
        max_length=16,
        choices=EmailStatus.choices,
        default=EmailStatus.UNKNOWN,
        db_default=EmailStatus.UNKNOWN,
    )
    email_verified_at = models.DateTimeField(null=True, blank=True)
    email_verified_by = models.CharField(max_length=16, null=True, blank=True)
    status_changed_at = models.DateTimeField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # Lower-cased first name, last name, email and company name, joined by SEARCH_SEPARATOR:
    # one narrow column to scan for `q` instead of four columns and a join.
    search_text = models.TextField(blank=True, default="", editable=False)

    class Meta:
        constraints = [
            # Emails are stored lower-case (checked below), so this is case-insensitive.
            models.UniqueConstraint(
                fields=["user", "email"],
                condition=~Q(email=""),
                name="lead_unique_email_per_user",
            ),
            models.CheckConstraint(condition=Q(email=Lower("email")), name="lead_email_lower_case"),
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=100), name="lead_score_0_100"
            ),
            models.CheckConstraint(condition=Q(status__in=STATUS_ORDER), name="lead_status_valid"),
            models.CheckConstraint(
                condition=Q(deal_value__isnull=True) | Q(deal_value__gte=0),
                name="lead_deal_value_not_negative",
            ),
        ]
        # Each list filter is served by an index that ends in id, so the filtered keyset
        # page (WHERE … AND id < cursor ORDER BY id DESC) is an index range walk.
        indexes = [
            models.Index(fields=["user", "id"], name="lead_user_id"),
            models.Index(fields=["user", "status", "id"], name="lead_user_status_id"),
            models.Index(fields=["company", "id"], name="lead_company_id"),
            models.Index(fields=["user", "created_at", "id"], name="lead_user_created"),
            # For the per-status counts and values under score and date filters only
            # (lead_stats), keyed on the expression user_id + 0, which no other query uses: a
            # plain (user, …) index here would lure SQLite's planner away from the list's
            # keyset indexes. The deal value rides along so the values cost no row reads.
            models.Index(
                F("user") + 0,
                F("created_at"),
                F("status"),
                F("score"),
                F("deal_value"),
                name="lead_counts",
            ),
            # The pipeline value per status (lead_values_by_status), read from this index
            # alone; only leads with a deal value are in it.
            models.Index(
                fields=["user", "status", "deal_value"],
                condition=Q(deal_value__isnull=False),
                name="lead_values",
            ),
            # The dashboard's expected closes by month, read from this index alone; only
            # leads with a date are in it.
            models.Index(
                fields=["user", "expected_close_date", "status", "deal_value"],
                condition=Q(expected_close_date__isnull=False),
                name="lead_closes",
            ),
            # The dashboard's value won this month: the converted leads by when they were
            # converted, read from this index alone.
            models.Index(
                fields=["user", "status_changed_at", "deal_value"],
                condition=Q(status="converted"),
                name="lead_won",
            ),
        ]

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"Lead {self.pk}"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class LeadEvent(models.Model):
    """One entry of a lead's history: a status change, or the fields an import changed."""

    class Kind(models.TextChoices):
        STATUS = "status", "Status change"
        UPDATE = "update", "Fields changed"
        # A reassignment: changes hold {"owner": [old name, new name], "from_user_id",
        # "to_user_id"}; from_status and to_status are the lead's status at the time.
        OWNER = "owner", "Owner changed"

    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events", db_index=False)
    # Denormalised owner: dashboards aggregate a user's history without joining leads.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.STATUS)
    from_status = models.CharField(max_length=16, choices=Status.choices, null=True, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    source = models.CharField(max_length=8, choices=Source.choices)
    provider = models.CharField(max_length=16, null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()
    # Who made the change, when it was a person and not the owner (a manager acting on a
    # rep's lead, or whose import assigned a new lead to a rep: that first entry's changes
    # then hold {"owner": [null, assignee's name], "to_user_id"}); null for the owner's own
    # changes, other import writes and older entries.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )

    class Meta:
        indexes = [
            models.Index(fields=["lead", "kind", "id"], name="leadevent_lead_kind_id"),
            models.Index(fields=["user", "at"], name="leadevent_user_at"),
            # The dashboard's time in stage walks an owner's newest status changes; through
            # leadevent_user_at it steps over every other entry too (measured: an owner with
            # 800,000 owner-change entries, 146 ms against 0.2 ms for 500 status changes).
            models.Index(
                fields=["user", "at"],
                condition=models.Q(kind="status"),
                name="leadevent_status_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.from_status or '—'} → {self.to_status} ({self.source})"


class LeadListPreference(models.Model):
    """A person's choices for the leads list (written by ``services.lead_list_columns_save``):
    which optional columns (``leads.list_columns``) it shows, in any order."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    columns = models.JSONField(default=list)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Leads list of user {self.user_id}: {', '.join(self.columns)}"


class LeadBulkJob(Job):
    """A bulk status change or delete of every lead matching a list's filters, too many to
    do while the person waits (``leads.bulk_jobs``). The filters are kept as the list's query
    and evaluated again through the scope in each batch, up to the highest id that matched
    when the job was asked for: leads added later are never swept in."""

    class Action(models.TextChoices):
        STATUS = "status", "Change status"
        DELETE = "delete", "Delete"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=8, choices=Action.choices)
    to_status = models.CharField(max_length=16, choices=Status.choices, blank=True, default="")
    # The list's filters, as its query string names them (leads.filters.LeadFilterSet).
    filters = models.JSONField(default=dict)
    # How many leads matched when the job was asked for, and the highest id among them.
    total = models.PositiveIntegerField(default=0)
    max_id = models.BigIntegerField(default=0)
    # Checkpoint: every matching lead up to this id is done.
    last_id = models.BigIntegerField(default=0)
    # How many leads the job changed (moved or deleted); ``processed`` counts those looked at.
    changed = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["user", "id"], name="leadbulkjob_user_id")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} of {self.total} leads ({self.state})"

    @classmethod
    def policy(cls) -> JobPolicy:
        # A batch of 500 leads commits in well under a second, renewing the lease each time.
        return JobPolicy(lease_seconds=300, max_attempts=3, requeue_after=300)

    def cancelled_message(self) -> str:
        return ""  # the page says "Cancelled" already


class Team(models.Model):
    """A sales team (api.md "Teams, roles and assignment"): its manager sees and routes the
    pipeline of every member; a rep sees their own."""

    name = models.CharField(max_length=150, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    REP = "rep", "Rep"
    MANAGER = "manager", "Manager"


class TeamMembership(models.Model):
    """A user's place in a team; a user belongs to at most one team."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="crm_membership"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.REP)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["team", "role"], name="teammembership_team_role")]

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()} of {self.team})"


class LeadTally(models.Model):
    """How many leads each owner has in each status, and the sum of their deal values in
    cents: kept by database triggers on leads_lead (migration 0014), so every write, whatever
    path it took (services, bulk statements, cascades, restores), moves the figures with it.

    Reads sum the rows of an owner and status: SQLite keeps exactly one (its triggers add to
    it in place; it has one writer at a time); PostgreSQL appends one row per statement
    (statement triggers over the changed rows, so concurrent writers never wait on a shared
    counter) and ``lead_tally_compact`` folds them together now and then.

    Not managed by Django: the migration creates it with its triggers, and a flush of the
    test database leaves it to the triggers (a DELETE of the leads takes the figures to zero,
    a TRUNCATE empties it).
    """

    user_id = models.IntegerField()
    status = models.CharField(max_length=16)
    n = models.BigIntegerField()
    cents = models.BigIntegerField()

    class Meta:
        managed = False
        db_table = "leads_leadtally"

    def __str__(self) -> str:
        return f"{self.user_id} {self.status}: {self.n}"
