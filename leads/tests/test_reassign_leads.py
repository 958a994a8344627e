"""A manager hands leads from one member to another (leads.reassign.leads_reassign)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from leads.models import Company, Lead, LeadEvent
from leads.reassign import EmailTaken, NotAManager, leads_reassign
from leads.scope import Scope
from leads.tests.factories import CompanyFactory, UserFactory, make_lead, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def team():
    return make_team()


def _leads_of(user):
    return Scope.of(user).leads()


def test_leads_move_to_the_new_owners_twin_company_or_a_new_one(team):
    rob, ria, mia = team["rob"], team["ria"], team["mia"]
    acme = CompanyFactory(user=rob, name="Acme", domain="acme.com")
    plain = CompanyFactory(user=rob, name="Plain Co", domain="")
    ria_acme = CompanyFactory(user=ria, name="ACME Inc", domain="acme.com")
    a = make_lead(user=rob, company=acme, first_name="Ann", email="ann@acme.com")
    b = make_lead(user=rob, company=plain, first_name="Ben")
    stays = make_lead(user=rob, company=acme, first_name="Cy")
    moved = leads_reassign(
        actor=mia, leads=_leads_of(mia).filter(pk__in=[a.pk, b.pk]), to_user_id=ria.pk,
        source="api",
    )  # fmt: skip
    assert moved == 2
    a.refresh_from_db()
    b.refresh_from_db()
    assert (a.user_id, a.company_id) == (ria.pk, ria_acme.pk)
    # Searchable by the company it joined.
    assert "acme inc" in a.search_text
    ria_plain = Company.objects.get(user=ria, name="Plain Co")
    assert (b.user_id, b.company_id) == (ria.pk, ria_plain.pk)
    assert Lead.objects.get(pk=stays.pk).user_id == rob.pk
    entry = LeadEvent.objects.filter(lead=a, kind="owner").get()
    assert entry.user_id == ria.pk and entry.actor_id == mia.pk
    assert entry.changes == {"owner": ["rob", "ria"], "from_user_id": rob.pk, "to_user_id": ria.pk}
    assert (entry.from_status, entry.to_status) == ("new", "new")
    # The whole history moved with the lead: Ria sees it, Rob no longer does.
    assert Scope.of(ria).events().filter(lead=a).count() == 2
    assert not Scope.of(rob).leads().filter(pk=a.pk).exists()


def test_an_email_the_new_owner_has_is_a_clash_and_nothing_moves(team):
    rob, ria, mia = team["rob"], team["ria"], team["mia"]
    mine = make_lead(user=rob, company=CompanyFactory(user=rob), email="dup@x.com")
    other = make_lead(user=rob, company=CompanyFactory(user=rob), email="ok@x.com")
    theirs = make_lead(user=ria, company=CompanyFactory(user=ria), email="dup@x.com")
    with pytest.raises(EmailTaken) as caught:
        leads_reassign(actor=mia, leads=_leads_of(mia).filter(user=rob), to_user_id=ria.pk,
                       source="api")  # fmt: skip
    assert caught.value.lead_id == theirs.pk
    assert f"lead {theirs.pk}" in str(caught.value)
    assert set(
        Lead.objects.filter(pk__in=[mine.pk, other.pk]).values_list("user_id", flat=True)
    ) == {rob.pk}
    assert not LeadEvent.objects.filter(kind="owner").exists()


def test_only_a_manager_and_only_to_an_active_member(team):
    rob, ria, mia, sam = team["rob"], team["ria"], team["mia"], team["sam"]
    lead = make_lead(user=rob, company=CompanyFactory(user=rob))
    with pytest.raises(NotAManager):
        leads_reassign(actor=rob, leads=_leads_of(rob), to_user_id=ria.pk, source="api")
    with pytest.raises(ValidationError) as outside:
        leads_reassign(actor=mia, leads=_leads_of(mia), to_user_id=sam.pk, source="api")
    missing = UserFactory().pk + 1000
    with pytest.raises(ValidationError) as nobody:
        leads_reassign(actor=mia, leads=_leads_of(mia), to_user_id=missing, source="api")
    # Another team's member reads exactly like nobody.
    assert outside.value.message_dict == nobody.value.message_dict
    ria.is_active = False
    ria.save()
    with pytest.raises(ValidationError, match="inactive"):
        leads_reassign(actor=mia, leads=_leads_of(mia), to_user_id=ria.pk, source="api")
    assert Lead.objects.get(pk=lead.pk).user_id == rob.pk


def test_a_deactivated_members_leads_go_to_a_colleague(team):
    rob, ria, mia = team["rob"], team["ria"], team["mia"]
    for i in range(3):
        make_lead(user=rob, company=CompanyFactory(user=rob, name=f"C{i}"), email=f"l{i}@x.com")
    rob.is_active = False
    rob.save()
    mia = type(mia).objects.get(pk=mia.pk)  # a fresh sign-in
    assert leads_reassign(actor=mia, leads=_leads_of(mia).filter(user=rob), to_user_id=ria.pk,
                          source="ui") == 3  # fmt: skip
    assert Lead.objects.filter(user=ria).count() == 3


def test_copies_are_made_once_per_domain_in_one_statement(team, django_assert_max_num_queries):
    rob, ria, mia = team["rob"], team["ria"], team["mia"]
    for i in range(30):
        company = CompanyFactory(user=rob, name=f"Co {i}", domain=f"co{i}.example")
        make_lead(user=rob, company=company, email=f"p{i}@co{i}.example")
    # The same name without a domain twice: one copy for both.
    for _ in range(2):
        make_lead(user=rob, company=CompanyFactory(user=rob, name="Solo", domain=""))
    mia = type(mia).objects.get(pk=mia.pk)
    with django_assert_max_num_queries(40):
        moved = leads_reassign(actor=mia, leads=_leads_of(mia).filter(user=rob),
                               to_user_id=ria.pk, source="api")  # fmt: skip
    assert moved == 32
    assert Company.objects.filter(user=ria).count() == 31
    assert Company.objects.filter(user=ria, name="Solo").count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_service_is_its_own_transaction_whoever_calls_it(team, monkeypatch):
    """A door that opens no transaction (the Team page's hand-over) still gets all or nothing
    and the owners' locks (on PostgreSQL a lock outside a transaction is an error)."""
    from leads import reassign

    rob, ria, mia = team["rob"], team["ria"], team["mia"]
    company = CompanyFactory(user=rob, name="Acme", domain="acme.com")
    leads = [make_lead(user=rob, company=company, email=f"p{i}@acme.com") for i in range(3)]
    monkeypatch.setattr(reassign, "BATCH", 1)
    monkeypatch.setattr(reassign, "BATCH_POSTGRESQL", 1)
    calls = {"n": 0}
    real = reassign._move_leads

    def fail_on_the_second_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(reassign, "_move_leads", fail_on_the_second_batch)
    with pytest.raises(RuntimeError):
        leads_reassign(
            actor=mia, leads=Lead.objects.filter(user=rob), to_user_id=ria.pk, source="ui"
        )
    assert set(Lead.objects.filter(user=rob).values_list("pk", flat=True)) == {
        lead.pk for lead in leads
    }
    monkeypatch.setattr(reassign, "_move_leads", real)
    moved = leads_reassign(
        actor=mia, leads=Lead.objects.filter(user=rob), to_user_id=ria.pk, source="ui"
    )
    assert moved == 3


def test_all_or_nothing_when_a_later_step_fails(team, monkeypatch):
    """One transaction from the clash check to the last move: a failure once the companies
    are made and the history is written leaves the leads, their companies and their history
    where they were."""
    rob, ria, mia = team["rob"], team["ria"], team["mia"]
    acme = CompanyFactory(user=rob, name="Acme", domain="acme.com")
    lead = make_lead(user=rob, company=acme, email="ann@acme.com")

    def fail(*args, **kwargs):
        raise RuntimeError("history write failed")

    monkeypatch.setattr("leads.reassign._move_leads", fail)
    with pytest.raises(RuntimeError):
        leads_reassign(actor=mia, leads=_leads_of(mia).filter(pk=lead.pk), to_user_id=ria.pk,
                       source="api")  # fmt: skip
    lead.refresh_from_db()
    assert (lead.user_id, lead.company_id) == (rob.pk, acme.pk)
    assert not Company.objects.filter(user=ria).exists()
    assert LeadEvent.objects.filter(lead=lead).values_list("user_id", flat=True).get() == rob.pk
