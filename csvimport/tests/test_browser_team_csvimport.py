"""A manager imports a CSV for the team in the browser: round robin over the reps, a person a
rep already owns updated in place, and the new lead's history naming who got it."""

from __future__ import annotations

import pytest
from celery.contrib.testing.worker import start_worker

from crm.celery import app as celery_app
from csvimport import tasks  # noqa: F401  (registers the task with the in-process worker)
from csvimport.models import CsvImport
from leads.models import Lead, Role, Team, TeamMembership
from leads.tests.factories import UserFactory, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "Email,First name,Last name,Company\n"
    "ann@acme.com,Ann,Archer,Acme\n"
    "bob@globex.com,Bob,Baker,Globex\n"
    "cy@initech.com,Cy,Cole,Initech\n"
    "dee@umbrella.com,Dee,Diaz,Umbrella\n"
)


@pytest.fixture
def worker():
    # The broker is set for the whole test process by the root conftest.
    with start_worker(
        celery_app, pool="threads", concurrency=1, perform_ping_check=False, shutdown_timeout=30
    ):
        yield


def test_a_manager_spreads_a_csv_over_the_team(signed_in, worker):
    north = Team.objects.create(name="North")
    reps = {}
    for name in ("rob", "ria"):
        reps[name] = UserFactory(username=name, first_name=name.title(), last_name="North")
        TeamMembership.objects.create(user=reps[name], team=north, role=Role.REP)
    # Rob already has Cy: the import updates his lead and leaves it his.
    cy = make_lead(user=reps["rob"], email="cy@initech.com", first_name="")
    session = signed_in("mia")
    TeamMembership.objects.create(user=session.user, team=north, role=Role.MANAGER)

    page = session.go("/leads/import/")
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "team.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("heading", name="Map the columns of team.csv").wait_for()
    choice = page.get_by_test_id("import-assignment")
    assert choice.get_by_label("Me (the importing user)").is_checked()
    assert choice.get_by_label("Rob North").is_visible()
    page.get_by_label("Create, or fill the empty fields of the lead with that email").check()
    session.htmx_settled()
    choice.get_by_label("Round robin over the team").check()
    session.htmx_settled()
    # The choice survives htmx redrawing the rest of the form.
    assert choice.get_by_label("Round robin over the team").is_checked()
    session.screenshot("csv-import-team-preview")
    page.get_by_test_id("start-import").click()

    page.wait_for_url("**/progress/")
    page.locator("[data-testid='csv-run'][data-state='succeeded']").wait_for()
    assert page.get_by_test_id("count-created").inner_text() == "3"
    assert page.get_by_test_id("count-updated").inner_text() == "1"
    assert "new leads: round robin over the team" in page.get_by_test_id("csv-assign").inner_text()

    csv_import = CsvImport.objects.get(user=session.user)
    assert (csv_import.assign, csv_import.assign_to) == ("round_robin", None)
    owners = dict(Lead.objects.values_list("email", "user__username"))
    assert owners == {
        "ann@acme.com": "rob",
        "bob@globex.com": "ria",
        "cy@initech.com": "rob",  # his already, and still
        "dee@umbrella.com": "rob",
    }
    cy.refresh_from_db()
    assert cy.first_name == "Cy"

    # The new lead's page says who it was assigned to, and by whom.
    bob = Lead.objects.get(email="bob@globex.com")
    page = session.go(f"/leads/{bob.pk}/")
    assert "Ria North" in page.get_by_test_id("lead-owner").inner_text()
    entry = page.get_by_test_id("history-entry").last
    assert "Created as" in entry.inner_text()
    assert entry.get_by_test_id("history-assigned").inner_text() == "· assigned to Ria North"
    assert entry.get_by_test_id("history-actor").inner_text() == "mia"
    session.screenshot("csv-import-team-history")
    assert session.console_errors == []
