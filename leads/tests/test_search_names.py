"""`q` finds a person by their full name and ignores accents (issue 15 item 1; api.md,
"Details that clients rely on"), in the API, the pages and the admin, on both databases."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client

from leads.models import Lead
from leads.tests.conftest import ApiClient
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    user = UserFactory(username="searcher")
    company = CompanyFactory(user=user, name="Société Générale", domain="sg.fr")
    alice = make_lead(user=user, company=company, first_name="Alice", last_name="Martin",
                      email="alice@sg.fr")  # fmt: skip
    emilie = make_lead(user=user, company=company, first_name="Émilie", last_name="Dupré",
                       email="emilie@sg.fr")  # fmt: skip
    make_lead(user=user, company=company, first_name="Martin", last_name="Alice",
              email="ma@sg.fr")  # fmt: skip
    return user, alice, emilie


def _found(user, q: str) -> list[int]:
    response = ApiClient(user).get("/v1/leads", {"q": q})
    assert response.status_code == 200, response.content
    return [lead["id"] for lead in response.json()["data"]]


@pytest.mark.parametrize(
    ("q", "who"),
    [
        ("Alice Martin", "alice"),
        ("alice   martin", "alice"),  # spaces as typed
        ("ALICE MARTIN", "alice"),
        ("ice Mar", "alice"),  # a substring of the full name
        ("Émilie", "emilie"),
        ("emilie dupre", "emilie"),  # no accents typed
        ("ÉMILIE DUPRÉ", "emilie"),
        ("Dupré", "emilie"),
    ],
)
def test_the_full_name_with_or_without_accents(people, q, who):
    user, alice, emilie = people
    assert _found(user, q) == [{"alice": alice, "emilie": emilie}[who].pk]


def test_accents_are_ignored_in_the_company_name_and_fields_stay_apart(people):
    user = people[0]
    assert sorted(_found(user, "societe generale")) == sorted(
        Lead.objects.filter(user=user).values_list("id", flat=True)
    )
    # A term never matches across two fields (name | email | company).
    assert _found(user, "dupré emilie@") == []
    assert _found(user, "martin alice@") == []


def test_stats_board_dashboard_and_admin_search_the_same_way(people, admin_client):
    user = people[0]
    stats = ApiClient(user).get("/v1/leads/stats", {"q": "Alice Martin"}).json()
    assert stats["total"] == 1
    client = Client()
    client.force_login(user)
    assert "Alice Martin" in client.get("/leads/", {"q": "Alice Martin"}).content.decode()
    board = client.get("/board/", {"q": "emilie dupre"}).content.decode()
    assert "Émilie Dupré" in board and "Alice Martin" not in board
    assert client.get("/dashboard/", {"q": "Émilie"}).status_code == 200
    admin = admin_client.get("/admin/leads/lead/", {"q": "emilie dupre"}).content.decode()
    assert "Émilie Dupré" in admin and "Alice Martin" not in admin


def test_the_migration_rewrites_stored_search_text(people):
    user, _, emilie = people
    # The search text as it was stored before: fields apart, accents kept.
    Lead.objects.filter(pk=emilie.pk).update(
        search_text="émilie\x1fdupré\x1femilie@sg.fr\x1fsociété générale"
    )
    module = importlib.import_module("leads.migrations.0007_search_text_full_name_folded")

    class Editor:
        pass

    editor = Editor()
    editor.connection = connection
    module.rewrite(apps, editor)
    emilie.refresh_from_db()
    assert emilie.search_text == "emilie dupre\x1femilie@sg.fr\x1fsociete generale"
    assert _found(user, "Émilie Dupré") == [emilie.pk]
