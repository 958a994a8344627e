"""What rests on the database itself, checked on whichever one the suite runs on: SQLite by
default, PostgreSQL with `make test-pg`. Constraints, JSON values and their lookups, and two
requests inserting the same email at the same moment."""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models.fields.json import KeyTextTransform
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations import services as integration_services
from integrations.importer import import_records
from integrations.records import VendorRecord
from integrations.tests.test_concurrency import at_once
from leads.models import Lead
from leads.tests.conftest import ApiClient
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db

# Keys and values that JSON paths, escaping and text encodings each get wrong in their way.
ATTRIBUTES = {
    "plan": "pro",
    "a.b": "a dotted key",
    "$[0]": "a key that looks like a path",
    'say "hi"': "it's quoted",
    "back\\slash": "C:\\temp\\n",
    "ünïcödé ✓": "Straße 😀",
    "line": "one\ntwo\u2028three",
    "empty": "",
    "10": "a numeric key",
}


def _raw_lead(user, company, email: str) -> Lead:
    """A lead inserted without the service, which is what lower-cases emails."""
    now = timezone.now()
    with transaction.atomic():
        return Lead.objects.create(
            user=user,
            company=company,
            email=email,
            status_changed_at=now,
            created_at=now,
            updated_at=now,
        )


def test_the_database_keeps_one_email_per_user_whatever_its_case(user, other_user, company):
    make_lead(user=user, company=company, email="Ann@Acme.COM")
    assert Lead.objects.get().email == "ann@acme.com"
    # A door that forgot to lower-case, or a second lead with the email: both refused by the
    # database itself (a check constraint and a partial unique index).
    with pytest.raises(IntegrityError):
        _raw_lead(user, company, "Ann@acme.com")
    with pytest.raises(IntegrityError):
        _raw_lead(user, company, "ann@acme.com")
    # No email is no clash; another user may have the same email.
    _raw_lead(user, company, "")
    _raw_lead(user, company, "")
    _raw_lead(other_user, CompanyFactory(user=other_user), "ann@acme.com")
    assert Lead.objects.filter(email="ann@acme.com").count() == 2


def test_emails_with_non_ascii_domains_clash_whatever_their_case(api, company):
    created = api.post("/v1/leads", {"company_id": company.pk, "email": "Ann@EXÄMPLE.com"})
    assert created.status_code == 201, created.content
    assert created.json()["email"] == "ann@exämple.com"
    again = api.post("/v1/leads", {"company_id": company.pk, "email": "ANN@exÄmple.COM"})
    assert again.status_code == 400 and "email" in again.json()
    assert _ids_for(api, "ann@EXÄMPLE.com") == [created.json()["id"]]


def _ids_for(api, email: str) -> list[int]:
    return [lead["id"] for lead in api.get("/v1/leads", {"email": email}).json()["data"]]


@pytest.mark.django_db(transaction=True)
def test_the_same_email_posted_twice_at_the_same_moment_makes_one_lead(user, company):
    clients = [ApiClient(user), ApiClient(user)]
    emails = ["race@acme.com", "RACE@Acme.com"]
    responses = at_once(
        *[
            lambda client=client, email=email: client.post(
                "/v1/leads", {"company_id": company.pk, "email": email}
            )
            for client, email in zip(clients, emails, strict=True)
        ]
    )
    codes = sorted(response.status_code for response in responses)
    # The loser is told either by the serializer's check (400) or, when both passed it at
    # once, by the database's unique index (409).
    assert codes in ([201, 400], [201, 409]), [r.content for r in responses]
    assert Lead.objects.filter(user=user, email="race@acme.com").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_lead_created_by_a_request_of_its_own_takes_no_savepoint(user, company):
    """The request's transaction is the insert's: a clash on the email index rolls it back
    whole and is answered after (the test above), with no savepoint around the insert, whose
    two statements cost a tenth of the request on PostgreSQL."""
    with CaptureQueriesContext(connection) as queries:
        response = ApiClient(user).post("/v1/leads", {"company_id": company.pk, "email": "a@b.co"})
    assert response.status_code == 201, response.content
    statements = [query["sql"] for query in queries]
    assert not [sql for sql in statements if "SAVEPOINT" in sql], statements
    inserts = [sql.split('"')[1] for sql in statements if sql.startswith("INSERT INTO")]
    assert inserts.count("leads_lead") == inserts.count("leads_leadevent") == 1, statements


def test_custom_attributes_round_trip_through_the_api(api, company):
    created = api.post("/v1/leads", {"company_id": company.pk, "custom_attributes": ATTRIBUTES})
    assert created.status_code == 201, created.content
    assert created.json()["custom_attributes"] == ATTRIBUTES
    lead_id = created.json()["id"]
    assert api.get(f"/v1/leads/{lead_id}").json()["custom_attributes"] == ATTRIBUTES
    assert api.get("/v1/leads").json()["data"][0]["custom_attributes"] == ATTRIBUTES
    changed = {**ATTRIBUTES, "plan": "enterprise"}
    patched = api.patch(f"/v1/leads/{lead_id}", {"custom_attributes": changed})
    assert patched.json()["custom_attributes"] == changed
    assert Lead.objects.get(pk=lead_id).custom_attributes == changed


def test_custom_attributes_written_by_the_bulk_import_read_back_and_are_looked_up(user):
    integration = integration_services.integration_create(
        user=user, provider="hunter", credentials={"api_key": "k" * 32}, settings={}
    )
    records = [
        VendorRecord(vendor_id="1", email="one@acme.com", custom_attributes=dict(ATTRIBUTES)),
        VendorRecord(vendor_id="2", email="two@acme.com", custom_attributes={"plan": "free"}),
        VendorRecord(vendor_id="3", email="three@acme.com"),
    ]
    with transaction.atomic():
        import_records(integration=integration, records=records, source_label="Hunter")
    one = Lead.objects.get(email="one@acme.com")
    assert one.custom_attributes == ATTRIBUTES
    assert Lead.objects.get(email="three@acme.com").custom_attributes == {}

    leads = Lead.objects.filter(user=user)

    def emails(**lookup) -> list[str]:
        return sorted(leads.filter(**lookup).values_list("email", flat=True))

    assert emails(custom_attributes__plan="pro") == ["one@acme.com"]
    assert emails(custom_attributes__has_key="plan") == ["one@acme.com", "two@acme.com"]
    # Left out: SQLite's JSON paths cannot name a key with a double quote in it, and Django
    # takes a key that is a number for an array index (on both). Nothing in the CRM looks an
    # attribute up by its key; such keys are still stored and read back whole (above).
    for key, value in ATTRIBUTES.items():
        if '"' in key or key.isdigit():
            continue
        having = ["one@acme.com", "two@acme.com"] if key == "plan" else ["one@acme.com"]
        assert emails(custom_attributes__has_key=key) == having, key
        assert emails(**{f"custom_attributes__{key}": value}) == ["one@acme.com"], key
    assert emails(custom_attributes={}) == ["three@acme.com"]
    values = leads.filter(email="one@acme.com").annotate(
        value=KeyTextTransform("ünïcödé ✓", "custom_attributes")
    )
    assert [lead.value for lead in values] == ["Straße 😀"]


def test_null_characters_from_a_vendor_are_dropped_not_a_failed_import(user):
    """PostgreSQL can store no NUL character, in text or in JSON; SQLite could."""
    integration = integration_services.integration_create(
        user=user, provider="hunter", credentials={"api_key": "k" * 32}, settings={}
    )
    record = VendorRecord(
        vendor_id="1\x00",
        email="nul@acme.com",
        first_name="A\x00nn",
        company_name="Ac\x00me",
        custom_attributes={"no\x00te": "a\x00b"},
    )
    with transaction.atomic():
        result = import_records(integration=integration, records=[record], source_label="Hunter")
    assert (result.created, result.failures) == (1, [])
    lead = Lead.objects.select_related("company").get(user=user)
    assert (lead.first_name, lead.company.name) == ("Ann", "Acme")
    assert lead.custom_attributes == {"note": "ab"}


def test_postgresql_connections_plan_for_a_cached_database():
    """crm/settings.py sets random_page_cost for the app's connections: with the default (4)
    a search with a status walked the primary key, 35 ms instead of 7 at 1,000,000 leads."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL planner setting")
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone()[0] == "1.1"


def test_an_import_refreshes_the_planner_statistics_as_it_grows(user, other_user):
    """A user who had no leads when the table was last analyzed looks, to the planner, like
    one with a single lead: a page's email look-up then reads every lead of the user instead
    of probing the (user, email) index, and a large first import slows as it goes."""
    from django.db import connection

    from leads.services import PlannerStatistics

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner statistics; SQLite plans these by its index alone")
    now = timezone.now()

    def leads(owner, count: int) -> None:
        company = CompanyFactory(user=owner)
        Lead.objects.bulk_create(
            Lead(
                user=owner,
                company=company,
                email=f"{owner.username}{i}@example.com",
                status_changed_at=now,
                created_at=now,
                updated_at=now,
            )
            for i in range(count)
        )

    leads(other_user, 2000)
    with connection.cursor() as cursor:
        cursor.execute('ANALYZE "leads_lead"')
    leads(user, 4000)  # as an import's first pages would, since that ANALYZE

    def probes_the_emails() -> bool:
        """Whether the plan looks the emails up in the index, rather than reading every lead
        of the user (by either index) and testing each."""
        emails = [f"new{i}@example.com" for i in range(100)]
        plan = Lead.objects.filter(user=user, email__in=emails).exclude(email="").explain()
        return bool(re.search(r"Index Cond: \(\(user_id = \d+\) AND \(\(email\)", plan))

    assert not probes_the_emails()  # the stale statistics
    statistics = PlannerStatistics({Lead: ["user", "email"]}, first=1000, factor=4)
    statistics.wrote(999)
    assert statistics.runs == 0
    statistics.wrote(3001)
    assert statistics.runs == 1
    assert probes_the_emails()
    statistics.wrote(11_999)  # the next ANALYZE waits for four times as many rows
    assert statistics.runs == 1
    statistics.wrote(1)
    assert statistics.runs == 2


def test_an_import_looks_a_pages_emails_up_in_the_email_index(user):
    """The look-up each import page makes (vendor syncs and CSV files): probes of the
    (user, email) index, locked in id order where rows are locked. On SQLite an ORDER BY id
    made it walk the (user, id) index instead, reading every lead of the user per page."""
    from django.db import connection

    from leads.services import locked_in_id_order

    emails = [f"new{i}@example.com" for i in range(100)]
    leads = locked_in_id_order(
        Lead.objects.filter(user=user, email__in=emails).exclude(email="").select_related("company")
    )
    with transaction.atomic():
        plan = leads.explain()
    if connection.vendor == "sqlite":
        assert "USING INDEX lead_unique_email_per_user (user_id=? AND email=?)" in plan
    else:
        # Which index depends on the statistics (the test above); the order does not.
        assert plan.startswith("LockRows")
        tail = 'ORDER BY "leads_lead"."id" ASC FOR UPDATE OF "leads_lead"'
        assert str(leads.query).endswith(tail)


def test_the_end_of_a_large_import_merges_the_trigram_pending_list_and_folds_the_tally(user):
    """On PostgreSQL an import's ANALYZEs leave new rows' trigram entries in GIN's pending
    list, which every search reads whole until autovacuum merges it, and the tally with a
    row per statement: the import's end merges and folds them, once it wrote ``first``
    rows; a smaller one leaves them to autovacuum and the hourly fold."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from leads.models import SEARCH_TRIGRAM_INDEX, LeadTally
    from leads.services import PlannerStatistics
    from leads.tests.factories import make_lead

    if connection.vendor != "postgresql":
        pytest.skip("GIN's pending list and the statement-level tally are PostgreSQL's")
    company = CompanyFactory(user=user)
    for i in range(3):
        make_lead(user=user, company=company, first_name=f"Pending{i}")
    small = PlannerStatistics({Lead: ["user", "email"]}, first=10)
    small.wrote(3)
    with CaptureQueriesContext(connection) as ctx:
        small.finish()
    assert ctx.captured_queries == []
    assert LeadTally.objects.filter(user_id=user.pk).count() == 3
    large = PlannerStatistics({Lead: ["user", "email"]}, first=3)
    large.wrote(3)  # its first ANALYZE, which folds the tally as it stands
    for i in range(2):  # the import's last pages, short of the next ANALYZE
        make_lead(user=user, company=company, first_name=f"Last{i}")
    large.wrote(2)
    assert large.runs == 1 and LeadTally.objects.filter(user_id=user.pk).count() == 3
    large.finish()
    assert LeadTally.objects.filter(user_id=user.pk).count() == 1
    with connection.cursor() as cursor:  # merged: nothing is left to merge
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [SEARCH_TRIGRAM_INDEX])
        assert cursor.fetchone()[0] == 0


@pytest.mark.django_db
def test_a_seeding_ends_as_an_import_does_with_the_trigram_pending_list_merged():
    """The bench's bulk load (seedleads) stands for an import: it ends as one does
    (bulk_write_finished), so the state "after bulk load" is an import's without its
    statistics, not one where every search also reads GIN's pending list (up to 4 MB,
    2.6 ms a search at 1,000,000 leads) until autovacuum comes by."""
    from io import StringIO

    from django.core.management import call_command
    from django.db import connection

    from leads.models import SEARCH_TRIGRAM_INDEX

    if connection.vendor != "postgresql":
        pytest.skip("GIN's pending list is PostgreSQL's")
    call_command("seedleads", "--leads", "60", "--users", "1", "--no-analyze", stdout=StringIO())
    assert Lead.objects.count() == 60
    with connection.cursor() as cursor:  # merged: nothing is left to merge
        cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [SEARCH_TRIGRAM_INDEX])
        assert cursor.fetchone()[0] == 0
