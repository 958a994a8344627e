"""Two writers on the same lead or email at the same moment: whichever loses gets the answer
it would have got a moment later (a 400 or 409 naming the clash, a 404), never the bare
"conflicts with data saved at the same moment" of a constraint the services had checked.

The email races are replayed deterministically: the service's check is made to miss the
clash once, as it does when the other request commits between the check and the write. The
delete races run on real connections, one per thread (on SQLite the second writer simply
queues behind the first's write lock; on PostgreSQL row locks must order them).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import transaction

from crm.errors import NotFound
from integrations.tests.test_concurrency import at_once
from leads import bulk, reassign, services
from leads.models import (
    Lead,
    LeadEvent,
    MergePolicy,
    Source,
)
from leads.scope import Scope
from leads.tests.conftest import ApiClient
from leads.tests.factories import CompanyFactory, make_lead, make_team


def _miss_once(monkeypatch, module, name: str) -> list[int]:
    """``module.name`` finds nothing on its first call (the clash was not committed yet)."""
    real = getattr(module, name)
    calls: list[int] = []

    def late(*args, **kwargs):
        calls.append(1)
        if len(calls) > 1:
            return real(*args, **kwargs)
        return None

    monkeypatch.setattr(module, name, late)
    return calls


@pytest.mark.django_db
def test_a_lead_created_with_an_email_saved_meanwhile_is_the_400_on_email(monkeypatch):
    team = make_team()
    rob_co = CompanyFactory(user=team["rob"])
    held = make_lead(user=team["rob"], company=rob_co, email="ann@acme.com")
    calls = _miss_once(monkeypatch, services, "lead_email_check")
    response = ApiClient(team["mia"]).post(
        "/v1/leads",
        {"company_id": rob_co.pk, "user_id": team["rob"].pk, "email": "Ann@acme.com"},
    )
    assert len(calls) == 2  # missed, then asked again after the index refused the insert
    assert response.status_code == 400, response.content
    assert response.json() == {"email": ["A lead with this email already exists."]}
    assert list(Lead.objects.values_list("pk", flat=True)) == [held.pk]


@pytest.mark.django_db
def test_an_email_changed_to_one_saved_meanwhile_is_the_400_and_changes_nothing(monkeypatch):
    team = make_team()
    rob_co = CompanyFactory(user=team["rob"])
    make_lead(user=team["rob"], company=rob_co, email="ann@acme.com")
    lead = make_lead(user=team["rob"], company=rob_co, email="bob@acme.com")
    _miss_once(monkeypatch, services, "lead_email_check")
    response = ApiClient(team["rob"]).patch(
        f"/v1/leads/{lead.pk}", {"email": "ann@acme.com", "notes": "typed"}
    )
    assert response.status_code == 400, response.content
    assert list(response.json()) == ["email"]
    lead.refresh_from_db()
    assert (lead.email, lead.notes) == ("bob@acme.com", "")
    assert LeadEvent.objects.filter(lead=lead).count() == 1  # its creation only


@pytest.mark.django_db
@pytest.mark.parametrize("door", ["patch", "reassign"])
def test_handing_a_lead_to_a_rep_given_its_email_meanwhile_is_the_409_naming_it(monkeypatch, door):
    team = make_team()
    rob_lead = make_lead(user=team["rob"], company=CompanyFactory(user=team["rob"]), email="a@x.io")
    ria_lead = make_lead(user=team["ria"], company=CompanyFactory(user=team["ria"]), email="a@x.io")
    calls = _miss_once(monkeypatch, reassign, "_refuse_email_clash")
    mia = ApiClient(team["mia"])
    if door == "patch":
        response = mia.patch(f"/v1/leads/{rob_lead.pk}", {"user_id": team["ria"].pk})
    else:
        response = mia.post(
            "/v1/leads/reassign", {"to_user_id": team["ria"].pk, "lead_ids": [rob_lead.pk]}
        )
    assert len(calls) == 2
    assert response.status_code == 409, response.content
    assert response.json()["lead_id"] == ria_lead.pk
    rob_lead.refresh_from_db()
    assert rob_lead.user_id == team["rob"].pk
    assert not LeadEvent.objects.filter(kind=LeadEvent.Kind.OWNER).exists()


@pytest.mark.django_db
def test_a_leavers_pipeline_handed_to_someone_given_one_of_its_emails_meanwhile(monkeypatch):
    team = make_team()
    rob_lead = make_lead(user=team["rob"], company=CompanyFactory(user=team["rob"]), email="a@x.io")
    make_lead(user=team["ria"], company=CompanyFactory(user=team["ria"]), email="a@x.io")
    _miss_once(monkeypatch, reassign, "_refuse_email_clashes")
    with pytest.raises(reassign.ValidationError) as refused:
        reassign.owner_reassign_all(from_user=team["rob"], to_user=team["ria"], source=Source.UI)
    assert f"a@x.io (lead {rob_lead.pk})" in str(refused.value)
    assert Lead.objects.filter(user=team["rob"]).count() == 1


def _hold(write, ready: threading.Event, release: threading.Event):
    """``write`` in a transaction kept open until ``release``."""

    def run():
        with transaction.atomic():
            write()
            ready.set()
            assert release.wait(timeout=30)

    return run


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("writer", ["an edit", "a reassignment", "a bulk status change"])
def test_deleting_a_lead_another_writer_is_adding_history_to(writer):
    """The writer has added an entry to the lead's history and not committed yet when its
    rep deletes the lead. Unless the delete waits for the lead's row lock before reading the
    history it deletes, it misses that entry, and its commit fails on the foreign key."""
    team = make_team()
    company = CompanyFactory(user=team["rob"])
    lead = make_lead(user=team["rob"], company=company, email="a@x.io")
    other = make_lead(user=team["rob"], company=company, email="b@x.io")
    write = {
        "an edit": lambda: services.lead_update(
            lead=Lead.objects.get(pk=lead.pk), data={"notes": "call"}, source=Source.API
        ),
        "a reassignment": lambda: reassign.leads_reassign(
            actor=team["mia"],
            leads=Lead.objects.filter(pk__in=[lead.pk, other.pk]),
            to_user_id=team["ria"].pk,
            source=Source.API,
        ),
        "a bulk status change": lambda: services.lead_bulk_set_status(
            user=team["mia"], lead_ids=[lead.pk, other.pk], status="qualified", source="api"
        ),
    }[writer]
    ready, release = threading.Event(), threading.Event()

    def delete():
        assert ready.wait(timeout=30)
        threading.Timer(0.5, release.set).start()  # the writer commits while the delete runs
        return services.leads_delete(leads=Lead.objects.filter(pk=lead.pk))

    held, deleted = at_once(_hold(write, ready, release), delete)
    assert held is None and deleted == 1, (held, deleted)
    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert not LeadEvent.objects.filter(lead_id=lead.pk).exists()
    assert Lead.objects.filter(pk=other.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_reassigning_a_lead_its_rep_is_deleting_moves_the_rest():
    """The rep's delete has locked the lead and not committed when a manager hands it and
    another to a colleague: the reassignment waits, then moves the one that is left."""
    team = make_team()
    company = CompanyFactory(user=team["rob"])
    lead = make_lead(user=team["rob"], company=company, email="a@x.io")
    other = make_lead(user=team["rob"], company=company, email="b@x.io")
    ready, release = threading.Event(), threading.Event()

    def move():
        assert ready.wait(timeout=30)
        threading.Timer(0.5, release.set).start()
        started = time.monotonic()
        moved = reassign.leads_reassign(
            actor=team["mia"],
            leads=Lead.objects.filter(pk__in=[lead.pk, other.pk]),
            to_user_id=team["ria"].pk,
            source=Source.API,
        )
        return moved, time.monotonic() - started

    delete = _hold(
        lambda: services.leads_delete(leads=Lead.objects.filter(pk=lead.pk)), ready, release
    )
    held, outcome = at_once(delete, move)
    assert held is None and not isinstance(outcome, BaseException), (held, outcome)
    moved, waited = outcome
    assert waited >= 0.4  # it queued behind the delete (its row lock, or SQLite's write lock)
    assert moved == 1
    assert not Lead.objects.filter(pk=lead.pk).exists()
    assert Lead.objects.get(pk=other.pk).user_id == team["ria"].pk
    owner_entries = LeadEvent.objects.filter(kind=LeadEvent.Kind.OWNER)
    assert list(owner_entries.values_list("lead_id", flat=True)) == [other.pk]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("door", ["an edit", "an import"])
def test_a_lead_moved_to_another_company_while_a_write_waits_for_it_is_still_found(door):
    """A lead moves to another company (a manager hands it to Ria, or Rob files it under
    another company) and the mover has not committed when an edit, or an import page, asks
    for the lead. Once the move commits the writer must find the lead where it now is: a
    lock taken through a join with the company lost it on PostgreSQL (the edit answered 404;
    the import inserted it again and failed on the email index)."""
    team = make_team()
    acme = CompanyFactory(user=team["rob"], domain="acme.com")
    lead = make_lead(user=team["rob"], company=acme, email="a@x.io")
    other = CompanyFactory(user=team["rob"], domain="other.com")
    ready, release = threading.Event(), threading.Event()
    if door == "an edit":
        mover = team["ria"]

        def move():
            reassign.leads_reassign(
                actor=team["mia"],
                leads=Lead.objects.filter(pk=lead.pk),
                to_user_id=team["ria"].pk,
                source=Source.API,
            )

        def write():
            return services.lead_update(
                lead=Lead.objects.get(pk=lead.pk), data={"notes": "called"}, source=Source.API
            )
    else:
        mover = team["rob"]

        def move():
            services.lead_update(
                lead=Lead.objects.get(pk=lead.pk), data={"company": other}, source=Source.API
            )

        def write():
            with transaction.atomic():
                return bulk.lead_bulk_upsert(
                    user_id=team["rob"].pk,
                    rows=[bulk.LeadRow(email="a@x.io", notes="called")],
                    source=Source.CSV,
                    policy=MergePolicy.OVERWRITE,
                )

    def wait_then_write():
        assert ready.wait(timeout=30)
        threading.Timer(0.5, release.set).start()
        return write()

    held, written = at_once(_hold(move, ready, release), wait_then_write)
    assert held is None and not isinstance(written, BaseException), (held, written)
    moved = Lead.objects.select_related("company").get(pk=lead.pk)
    assert moved.user_id == moved.company.user_id == mover.pk
    assert moved.company_id != acme.pk
    assert moved.notes == "called"
    assert Lead.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_rep_deleting_a_lead_handed_away_meanwhile_finds_it_gone():
    """Rob deletes his lead as Mia hands it to Ria: the delete waits for the hand-over, then
    finds the lead outside Rob's scope (the 404 of a missing id) and leaves it to Ria."""
    team = make_team()
    lead = make_lead(user=team["rob"], company=CompanyFactory(user=team["rob"]), email="a@x.io")
    ready, release = threading.Event(), threading.Event()

    def delete():
        assert ready.wait(timeout=30)
        threading.Timer(0.5, release.set).start()
        seen = Lead.objects.get(pk=lead.pk)  # in Rob's scope when his request read it
        services.lead_delete(lead=seen, actor=team["rob"], scope=Scope.of(team["rob"]))

    move = _hold(
        lambda: reassign.leads_reassign(
            actor=team["mia"],
            leads=Lead.objects.filter(pk=lead.pk),
            to_user_id=team["ria"].pk,
            source=Source.API,
        ),
        ready,
        release,
    )
    held, deleted = at_once(move, delete)
    assert held is None and isinstance(deleted, NotFound), (held, deleted)
    assert Lead.objects.get(pk=lead.pk).user_id == team["ria"].pk
