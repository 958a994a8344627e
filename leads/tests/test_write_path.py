"""The write path tested directly, without a door: normalisation, uniqueness, company_resolve,
the bulk upsert and its merge policies."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from crm.errors import NotFound
from leads import bulk, normalize, services
from leads.bulk import CompanyFacts, LeadRow, Outcome, lead_bulk_upsert
from leads.models import NO_COMPANY_NAME, Company, Lead, LeadEvent, MergePolicy, Source
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db


# --- normalisation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://ACME.com/about", "acme.com"),
        ("www.acme.com.", "acme.com"),  # no www. (issue 15 item 9)
        ("  acme.co.uk ", "acme.co.uk"),
        ("", ""),
        ("bücher.de", "bücher.de"),
    ],
)
def test_normalize_domain(raw, expected):
    assert normalize.normalize_domain(raw) == expected


@pytest.mark.parametrize("raw", ["acme", "-acme.com", "a..com", "http://", "x" * 64 + ".com"])
def test_normalize_domain_refuses_what_is_no_domain_with_a_django_error(raw):
    with pytest.raises(ValidationError) as error:
        normalize.normalize_domain(raw)
    assert error.value.messages == [normalize.DOMAIN_MESSAGE]
    assert normalize.domain_or_empty(raw) == ""


def test_normalize_email():
    assert normalize.normalize_email(" Ann@Example.COM ") == "ann@example.com"
    assert normalize.normalize_email("") == ""
    with pytest.raises(ValidationError):
        normalize.normalize_email("ann@")
    with pytest.raises(ValidationError):
        normalize.normalize_email("a" * 250 + "@x.com")


def test_company_domain_prefers_the_domain_then_the_website_and_skips_webmail():
    assert normalize.company_domain(domain="Acme.com", website="other.com") == "acme.com"
    assert normalize.company_domain(domain="not a domain", website="https://b.io/x") == "b.io"
    assert normalize.company_domain(email="ann@corp.io") == "corp.io"
    assert normalize.company_domain(email="ann@gmail.com") == ""


def test_custom_attributes_are_checked_in_one_place():
    assert normalize.normalize_custom_attributes({"a": "1"}) == {"a": "1"}
    for bad in ([], {"a": 1}, {"": "x"}, {"a": "\x00"}, {str(i): "x" for i in range(101)}):
        with pytest.raises(ValidationError):
            normalize.normalize_custom_attributes(bad)


# --- uniqueness and domain errors -------------------------------------------------------------


def test_services_refuse_a_second_lead_with_the_same_email_whatever_the_door():
    user = UserFactory()
    first = make_lead(user=user, email="ann@acme.com")
    with pytest.raises(ValidationError) as error:
        make_lead(user=user, email="ANN@acme.com")
    assert error.value.message_dict == {"email": [services.EMAIL_TAKEN]}
    other = make_lead(user=user, email="bob@acme.com")
    with pytest.raises(ValidationError):
        services.lead_update(lead=other, data={"email": "ann@acme.com"}, source=Source.API)
    # Another user may hold the same address.
    make_lead(user=UserFactory(), email="ann@acme.com")
    # Setting a lead's own email again is no clash.
    services.lead_update(lead=first, data={"email": "ann@acme.com"}, source=Source.API)


def test_services_refuse_a_second_company_with_the_same_domain():
    user = UserFactory()
    services.company_create(user=user, data={"name": "Acme", "domain": "acme.com"})
    with pytest.raises(ValidationError) as error:
        services.company_create(user=user, data={"name": "Acme 2", "domain": "acme.com"})
    assert error.value.message_dict == {"domain": [services.DOMAIN_TAKEN]}
    other = services.company_create(user=user, data={"name": "Globex", "domain": "globex.com"})
    with pytest.raises(ValidationError):
        services.company_update(company=other, data={"domain": "acme.com"})


def test_updating_a_deleted_lead_is_a_domain_not_found():
    lead = make_lead(user=UserFactory(), email="gone@acme.com")
    Lead.objects.filter(pk=lead.pk).delete()
    with pytest.raises(NotFound):
        services.lead_update(lead=lead, data={"status": "lost"}, source=Source.API)


# --- company_resolve ----------------------------------------------------------------------------


def test_company_resolve_by_domain_then_name_in_any_case_then_no_company():
    user = UserFactory()
    acme = CompanyFactory(user=user, name="Acme", domain="acme.com")
    named = CompanyFactory(user=user, name="Initech", domain="")
    assert bulk.company_resolve(user_id=user.pk, facts=CompanyFacts(domain="acme.com")) == acme
    assert bulk.company_resolve(user_id=user.pk, facts=CompanyFacts(name="INITECH")) == named
    nothing = bulk.company_resolve(user_id=user.pk, facts=CompanyFacts())
    assert nothing.name == NO_COMPANY_NAME
    assert bulk.company_resolve(user_id=user.pk, facts=CompanyFacts()) == nothing
    made = bulk.company_resolve(user_id=user.pk, facts=CompanyFacts(name="", domain="new.io"))
    assert (made.name, made.domain) == ("new.io", "new.io")


def test_company_resolve_fills_what_a_company_lacks_and_never_replaces_a_value():
    user = UserFactory()
    acme = CompanyFactory(user=user, name="acme.com", domain="acme.com", industry="Retail")
    facts = CompanyFacts(name="Acme Inc", domain="acme.com", industry="Software", country_code="FR")
    assert bulk.company_resolve(user_id=user.pk, facts=facts) == acme
    acme.refresh_from_db()
    assert (acme.name, acme.industry, acme.country_code) == ("Acme Inc", "Retail", "FR")


# --- the bulk upsert ---------------------------------------------------------------------------


def _upsert(user, rows, **kwargs):
    with transaction.atomic():
        return lead_bulk_upsert(user_id=user.pk, rows=rows, source=Source.CSV, **kwargs)


def test_bulk_upsert_creates_leads_with_their_first_history_entry_and_company():
    user = UserFactory()
    results = _upsert(
        user,
        [
            LeadRow(email="ann@acme.com", first_name="Ann", company=CompanyFacts(name="Acme")),
            LeadRow(first_name="Nomail", status="qualified", score=40),
        ],
        score_is_manual=True,
    )
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.CREATED]
    ann = Lead.objects.get(pk=results[0].lead_id)
    assert (ann.company.name, ann.status, ann.search_text.split("\x1f")[0]) == (
        "Acme",
        "new",
        "ann",
    )
    nomail = Lead.objects.get(pk=results[1].lead_id)
    assert (nomail.status, nomail.score, nomail.score_is_manual) == ("qualified", 40, True)
    assert nomail.company.name == NO_COMPANY_NAME
    first = LeadEvent.objects.get(lead=ann)
    assert (first.from_status, first.to_status, first.source) == (None, "new", "csv")


def test_a_row_creation_date_back_dates_a_new_lead_and_its_first_entry_but_no_existing_lead():
    user = UserFactory()
    old = make_lead(user=user, email="old@acme.com")
    created_at = old.created_at
    march = dt.datetime(2024, 3, 1, 14, 5, tzinfo=dt.UTC)
    future = timezone.now() + dt.timedelta(days=30)
    new, kept, later = _upsert(
        user,
        [
            LeadRow(email="new@acme.com", created_at=march),
            LeadRow(email="old@acme.com", first_name="Old", created_at=march),
            LeadRow(email="later@acme.com", created_at=future),
        ],
    )
    lead = Lead.objects.get(pk=new.lead_id)
    assert (lead.created_at, lead.status_changed_at) == (march, march)
    assert lead.updated_at > march
    assert LeadEvent.objects.get(lead=lead).at == march
    old.refresh_from_db()
    assert kept.outcome is Outcome.UPDATED and old.created_at == created_at
    # A date in the future is not believed: the lead is as new as the import.
    assert Lead.objects.get(pk=later.lead_id).created_at < future


def test_fill_fills_only_what_is_empty_and_overwrite_replaces_and_both_record_history():
    user = UserFactory()
    lead = make_lead(user=user, email="ann@acme.com", first_name="Ann", status="qualified")
    row = LeadRow(email="ann@acme.com", first_name="Anna", last_name="Lee", status="contacted")
    [fill] = _upsert(user, [row], policy=MergePolicy.FILL)
    lead.refresh_from_db()
    assert fill.outcome is Outcome.UPDATED and fill.by_email
    assert (lead.first_name, lead.last_name, lead.status) == ("Ann", "Lee", "qualified")
    assert LeadEvent.objects.filter(lead=lead, source="csv").get().changes == {
        "last_name": ["", "Lee"]
    }
    [again] = _upsert(user, [row], policy=MergePolicy.FILL)
    assert again.outcome is Outcome.UNCHANGED

    [over] = _upsert(user, [row], policy=MergePolicy.OVERWRITE)
    lead.refresh_from_db()
    assert over.outcome is Outcome.UPDATED
    assert (lead.first_name, lead.status) == ("Anna", "contacted")
    status, fields = LeadEvent.objects.filter(lead=lead, source="csv").order_by("id")[1:]
    assert (status.from_status, status.to_status) == ("qualified", "contacted")
    assert fields.changes == {"first_name": ["Ann", "Anna"]}


def test_a_fill_never_takes_a_score_a_person_chose_and_the_status_only_moves_forward():
    user = UserFactory()
    lead = make_lead(user=user, email="ann@acme.com", score=90, status="converted")
    _upsert(user, [LeadRow(email="ann@acme.com", score=10, status="contacted")])
    lead.refresh_from_db()
    assert (lead.score, lead.status) == (90, "converted")


def test_create_only_leaves_an_existing_lead_alone_and_duplicates_in_a_batch_are_reported():
    user = UserFactory()
    lead = make_lead(user=user, email="ann@acme.com")
    results = _upsert(
        user,
        [
            LeadRow(email="ann@acme.com", first_name="X"),
            LeadRow(email="new@acme.com"),
            LeadRow(email="new@acme.com", first_name="Twice"),
            LeadRow(first_name="No email"),
        ],
        create_only=True,
        require_email=True,
    )
    assert [r.outcome for r in results] == [
        Outcome.EXISTS,
        Outcome.CREATED,
        Outcome.DUPLICATE,
        Outcome.SKIPPED,
    ]
    lead.refresh_from_db()
    assert lead.first_name == ""


def test_a_known_lead_id_wins_over_the_email_and_another_users_id_is_left_alone():
    user, other = UserFactory(), UserFactory()
    mine = make_lead(user=user, email="ann@acme.com")
    theirs = make_lead(user=other, email="zed@acme.com")
    results = _upsert(
        user,
        [
            LeadRow(lead_id=mine.pk, email="ann@acme.com", phone="+1 555"),
            LeadRow(lead_id=theirs.pk, email="zed@acme.com", phone="+1 666"),
        ],
    )
    assert results[0].outcome is Outcome.UPDATED and not results[0].by_email
    # A vendor link to a lead since handed to someone outside the scope: neither written to
    # nor made again beside theirs (the importer would link the copy to the same record).
    assert results[1].outcome is Outcome.ELSEWHERE and results[1].lead_id is None
    theirs.refresh_from_db()
    assert (theirs.user_id, theirs.phone) == (other.pk, "")
    assert Lead.objects.filter(user=user).count() == 1


def test_do_not_contact_and_a_newer_verification_are_applied_an_older_one_is_not():
    user = UserFactory()
    lead = make_lead(user=user, email="ann@acme.com")
    now = timezone.now()
    row = LeadRow(
        email="ann@acme.com",
        do_not_contact_reason="unsubscribed at Hunter",
        email_status="valid",
        email_verified_at=now,
    )
    with transaction.atomic():
        lead_bulk_upsert(user_id=user.pk, rows=[row], source=Source.IMPORT, provider="hunter")
    lead.refresh_from_db()
    assert (lead.do_not_contact, lead.email_status, lead.email_verified_by) == (
        True,
        "valid",
        "hunter",
    )
    older = LeadRow(
        email="ann@acme.com", email_status="invalid", email_verified_at=now - dt.timedelta(days=1)
    )
    with transaction.atomic():
        lead_bulk_upsert(user_id=user.pk, rows=[older], source=Source.IMPORT, provider="snovio")
    lead.refresh_from_db()
    assert lead.email_status == "valid"


def test_the_bulk_upsert_runs_a_fixed_number_of_queries_whatever_the_batch_size(
    django_assert_max_num_queries,
):
    user = UserFactory()
    CompanyFactory(user=user, name="Acme", domain="acme.com")
    for i in range(20):
        make_lead(user=user, email=f"old{i}@acme.com")
    rows = [LeadRow(email=f"old{i}@acme.com", position="CTO") for i in range(20)]
    rows += [
        LeadRow(email=f"new{i}@acme.com", company=CompanyFacts(domain="acme.com"))
        for i in range(200)
    ]
    # savepoint, lock, two look-ups, two company look-ups, insert, update, events, release
    with django_assert_max_num_queries(12):
        results = _upsert(user, rows)
    assert sum(r.outcome is Outcome.CREATED for r in results) == 200
    assert Company.objects.filter(user=user).count() == 21


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own statistics table")
def test_an_import_that_grows_the_tables_gives_sqlite_planner_statistics():
    """Without statistics SQLite plans the list's combined filters badly (bench_filters.py);
    an import refreshes them as it grows the tables, as it does on PostgreSQL."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("DELETE FROM sqlite_stat1")
    user = UserFactory()
    statistics = services.PlannerStatistics({Lead: ["user", "email"]}, first=50)
    _upsert(user, [LeadRow(email=f"p{i}@x.io") for i in range(60)])
    statistics.wrote(60)
    assert statistics.runs == 1
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'leads_lead'")
        assert cursor.fetchone()[0] > 0


def test_new_lead_makes_the_lead_the_keywords_make_with_fresh_defaults():
    now = timezone.now()
    values = {
        "user_id": 7,
        "email": "ann@acme.com",
        "status": "qualified",
        "score": 40,
        "custom_attributes": {"region": "EU"},
        "created_at": now,
        "updated_at": now,
        "first_name": "Ann",
    }
    fast, slow = bulk.new_lead(values), Lead(**values)
    fields = [field.attname for field in Lead._meta.concrete_fields]
    assert [getattr(fast, name) for name in fields] == [getattr(slow, name) for name in fields]
    assert fast._state.adding and fast.pk is None
    # A default made by a callable is made again for every lead, never shared.
    one, two = bulk.new_lead({"user_id": 7}), bulk.new_lead({"user_id": 7})
    assert one.custom_attributes == {} and one.custom_attributes is not two.custom_attributes
    with pytest.raises(KeyError):
        bulk.new_lead({"no_such_field": 1})


@pytest.mark.django_db
def test_the_bulk_insert_writes_json_values_as_the_orm_does():
    from crm.bulk import insert_rows

    lead = make_lead(user=UserFactory())
    now = timezone.now()
    values = [{"email": ["a", "b"]}, ["x", 1], {}, "text", 3]
    insert_rows(
        LeadEvent,
        ("lead_id", "user_id", "kind", "to_status", "source", "changes", "at"),
        [(lead.pk, lead.user_id, "update", "new", "csv", value, now) for value in values],
    )
    stored = LeadEvent.objects.filter(lead=lead, kind="update").order_by("id")
    assert [event.changes for event in stored] == values
