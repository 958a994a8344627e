"""The leads and companies pages through Django's test client."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from leads.models import Company, Lead, LeadEvent, Source, Status
from leads.services import lead_set_status
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def other_web(other_user) -> Client:
    client = Client()
    client.force_login(other_user)
    return client


def _queries(client: Client, path: str) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, response.content[:500]
    return len(ctx.captured_queries), response


# --- sign-in and ownership ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/leads/", "/leads/new/", "/leads/1/", "/companies/", "/companies/1/"]
)
def test_every_page_needs_sign_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_other_users_objects_are_404_like_missing_ones(web, other_user):
    theirs = make_lead(user=other_user, email="secret@them.com", first_name="Secret")
    company_id = theirs.company_id
    for path in (
        f"/leads/{theirs.pk}/",
        f"/leads/{theirs.pk}/delete/",
        f"/leads/{theirs.pk}/field/email/",
        f"/companies/{company_id}/",
        f"/companies/{company_id}/delete/",
        "/leads/999999/",
        "/companies/999999/",
        "/leads/99999999999999999999999/",
    ):
        assert web.get(path).status_code == 404, path
    for path in (
        f"/leads/{theirs.pk}/delete/",
        f"/leads/{theirs.pk}/status/",
        f"/leads/{theirs.pk}/field/email/",
        f"/companies/{company_id}/",
        f"/companies/{company_id}/delete/",
    ):
        assert (
            web.post(path, {"status": "lost", "email": "x@y.com", "name": "X"}).status_code == 404
        )
    theirs.refresh_from_db()
    assert theirs.status == Status.NEW and theirs.email == "secret@them.com"
    assert Company.objects.filter(pk=company_id).exists()
    # Not on the list pages either.
    assert b"Secret" not in web.get("/leads/").content
    assert b"secret@them.com" not in web.get("/leads/?q=secret").content
    assert theirs.company.name.encode() not in web.get("/companies/").content


def test_bulk_actions_ignore_other_users_leads(web, user, other_user):
    theirs = make_lead(user=other_user, email="a@them.com")
    mine = make_lead(user=user, email="a@me.com")
    response = web.post(
        "/leads/bulk/", {"action": "status", "status": "lost", "ids": [theirs.pk, mine.pk]}
    )
    assert response.status_code == 302
    theirs.refresh_from_db()
    mine.refresh_from_db()
    assert theirs.status == Status.NEW and mine.status == Status.LOST
    web.post("/leads/bulk/", {"action": "delete", "confirm": "on", "ids": [theirs.pk]})
    assert Lead.objects.filter(pk=theirs.pk).exists()


def test_writes_are_post_only(web, user):
    lead = make_lead(user=user, email="a@me.com")
    assert web.get("/leads/bulk/").status_code == 405
    assert web.get(f"/leads/{lead.pk}/status/").status_code == 405
    assert web.get(f"/leads/{lead.pk}/delete/").status_code == 200  # the confirmation page
    assert Lead.objects.filter(pk=lead.pk).exists()


def test_posts_need_csrf(user):
    lead = make_lead(user=user, email="a@me.com")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    assert client.post(f"/leads/{lead.pk}/delete/").status_code == 403
    assert Lead.objects.filter(pk=lead.pk).exists()


# --- list -----------------------------------------------------------------------------------


def test_empty_list_tells_a_new_user_what_to_do(web):
    body = web.get("/leads/").content.decode()
    assert "No leads yet" in body
    assert "Create your first lead" in body
    assert "Import a CSV file" in body and "Connect Hunter, Snov.io or Instantly" in body


def test_no_match_offers_to_clear_filters(web, user):
    make_lead(user=user, email="a@me.com", status=Status.NEW)
    body = web.get("/leads/?status=lost").content.decode()
    assert "No leads match these filters" in body
    assert "Clear filters" in body


def test_list_filters_and_shows_rows(web, user, company):
    make_lead(user=user, company=company, first_name="Ann", email="ann@acme.com", score=80)
    make_lead(user=user, company=company, first_name="Bob", email="bob@acme.com", score=20)
    other = CompanyFactory(user=user, name="Globex")
    make_lead(user=user, company=other, first_name="Cid", email="cid@globex.com", score=90)
    body = web.get("/leads/").content.decode()
    assert all(name in body for name in ("Ann", "Bob", "Cid"))
    body = web.get("/leads/?min_score=50").content.decode()
    assert "Ann" in body and "Cid" in body and ">Bob<" not in body
    body = web.get(f"/leads/?company_id={company.pk}&q=ann").content.decode()
    assert "Ann" in body and "Cid" not in body and ">Bob<" not in body
    # The filter values stay in the form.
    assert 'value="ann"' in body
    assert f'<option value="{company.pk}" selected>' in body


def test_invalid_filters_are_shown_next_to_the_fields(web, user):
    make_lead(user=user, email="a@me.com")
    response = web.get("/leads/?min_score=150&created_after=yesterday&status=zzz")
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="f-min-score-error"' in body
    assert 'id="f-created-after-error"' in body
    assert 'id="f-status-error"' in body
    assert "a@me.com" not in body
    body = web.get("/leads/?min_score=60&max_score=10").content.decode()
    assert "must not be greater than" in body


def test_keyset_pages_newest_and_oldest(web, user, company):
    leads = [make_lead(user=user, company=company, email=f"p{i}@me.com") for i in range(55)]
    body = web.get("/leads/").content.decode()
    assert f"p{54}@me.com" in body and "p4@me.com" not in body
    assert f"cursor={leads[5].pk}" in body
    body = web.get(f"/leads/?cursor={leads[5].pk}").content.decode()
    assert "p4@me.com" in body and "p0@me.com" in body and "p5@me.com" not in body
    assert "Next page" not in body
    body = web.get("/leads/?order=oldest").content.decode()
    assert "p0@me.com" in body and "p54@me.com" not in body
    assert f"cursor={leads[49].pk}" in body and "order=oldest" in body
    body = web.get(f"/leads/?order=oldest&cursor={leads[49].pk}").content.decode()
    assert "p54@me.com" in body and "p49@me.com" not in body
    # A broken cursor restarts at the first page rather than failing.
    assert web.get("/leads/?cursor=abc").status_code == 200


def test_list_query_count_is_constant(web, user, company):
    make_lead(user=user, company=company, email="one@me.com")
    few, _ = _queries(web, "/leads/")
    for i in range(30):
        make_lead(user=user, email=f"m{i}@me.com")  # each with its own company
    many, _ = _queries(web, "/leads/")
    assert many == few
    filtered, _ = _queries(web, f"/leads/?q=me.com&status=new&company_id={company.pk}")
    assert filtered == few
    # session + user + one page of leads + the capped match count + the chosen columns
    # + the company choices + the user's connected providers for the 'Export to provider' control
    assert few <= 7


# --- bulk -----------------------------------------------------------------------------------


def test_bulk_status_change_writes_ui_history(web, user):
    a = make_lead(user=user, email="a@me.com")
    b = make_lead(user=user, email="b@me.com")
    c = make_lead(user=user, email="c@me.com")
    response = web.post(
        "/leads/bulk/",
        {"action": "status", "status": "contacted", "ids": [a.pk, b.pk], "next": "/leads/?q=me"},
    )
    assert response.status_code == 302 and response["Location"] == "/leads/?q=me"
    assert set(Lead.objects.filter(status="contacted").values_list("id", flat=True)) == {
        a.pk,
        b.pk,
    }
    assert Lead.objects.get(pk=c.pk).status == "new"
    events = LeadEvent.objects.filter(to_status="contacted")
    assert events.count() == 2 and {e.source for e in events} == {Source.UI}
    body = web.get("/leads/").content.decode()
    assert "2 leads moved to Contacted." in body


def test_bulk_refuses_bad_input_with_a_message(web, user):
    a = make_lead(user=user, email="a@me.com")
    response = web.post("/leads/bulk/", {"action": "status", "ids": [a.pk]}, follow=True)
    assert "Choose the new status first." in response.content.decode()
    response = web.post("/leads/bulk/", {"action": "status", "status": "lost"}, follow=True)
    assert "Select at least one lead first." in response.content.decode()
    # An outside "next" is not followed.
    response = web.post(
        "/leads/bulk/",
        {"action": "status", "status": "lost", "ids": [a.pk], "next": "https://evil.example/"},
    )
    assert response["Location"] == "/leads/"


def test_bulk_delete_asks_for_confirmation_first(web, user):
    a = make_lead(user=user, email="a@me.com", first_name="Ann")
    b = make_lead(user=user, email="b@me.com")
    response = web.post("/leads/bulk/", {"action": "delete", "ids": [a.pk, b.pk]})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Delete 2 leads?" in body and "Ann" in body
    assert Lead.objects.count() == 2
    response = web.post("/leads/bulk/", {"action": "delete", "confirm": "on", "ids": [a.pk, b.pk]})
    assert response.status_code == 302
    assert Lead.objects.count() == 0


# --- create ---------------------------------------------------------------------------------


def test_create_with_a_new_company(web, user):
    response = web.post(
        "/leads/new/",
        {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ADA@Engines.io",
            "status": "new",
            "score": "40",
            "new_company_name": "Analytical Engines",
            "new_company_domain": "https://Engines.io/about",
        },
    )
    assert response.status_code == 302
    lead = Lead.objects.get(user=user)
    assert response["Location"] == f"/leads/{lead.pk}/"
    assert lead.email == "ada@engines.io" and lead.score == 40 and lead.score_is_manual
    assert lead.company.name == "Analytical Engines" and lead.company.domain == "engines.io"
    assert LeadEvent.objects.get(lead=lead).source == Source.UI


def test_create_with_an_existing_company(web, user, company):
    response = web.post(
        "/leads/new/", {"email": "x@acme.com", "status": "qualified", "company": company.pk}
    )
    assert response.status_code == 302
    lead = Lead.objects.get(user=user)
    assert lead.company == company and lead.status == "qualified"
    assert Company.objects.filter(user=user).count() == 1


def test_create_shows_errors_next_to_fields_and_changes_nothing(web, user, company, other_user):
    make_lead(user=user, company=company, email="taken@acme.com")
    theirs = CompanyFactory(user=other_user)
    response = web.post(
        "/leads/new/",
        {
            "email": "Taken@acme.com",
            "score": "150",
            "status": "new",
            "company": theirs.pk,
        },
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "A lead with this email already exists: " in body
    holder = Lead.objects.get(email="taken@acme.com")
    assert f'<a href="/leads/{holder.pk}/" data-testid="email-holder">open it</a>' in body
    assert 'id="id_email_error"' in body and 'aria-describedby="id_email_error"' in body
    assert "less than or equal to 100" in body
    assert "Choose one of your companies." in body
    assert 'value="Taken@acme.com"' in body  # what was typed stays
    assert Lead.objects.count() == 1

    response = web.post(
        "/leads/new/",
        {"email": "new@x.com", "status": "new", "new_company_domain": "acme.com"},
    )
    body = response.content.decode()
    assert "type the new company" in body
    assert "already have a company with this domain" in body
    assert Company.objects.filter(user=user).count() == 1


def test_create_form_lists_only_my_companies(web, company, other_user):
    theirs = CompanyFactory(user=other_user, name="Their Co")
    body = web.get("/leads/new/").content.decode()
    assert "Acme Corp" in body and "Their Co" not in body
    assert f'value="{theirs.pk}"' not in body


# --- company picker past the <select>'s limit -------------------------------------------------


@pytest.fixture
def many_companies(user, monkeypatch):
    """Four companies with a <select> limit of two: the picker has to search for the rest."""
    from leads import page_selectors

    monkeypatch.setattr(page_selectors, "COMPANY_CHOICES_LIMIT", 2)
    return [
        CompanyFactory(user=user, name=name, domain=domain)
        for name, domain in (
            ("Alpha", "alpha.io"),
            ("Beta", ""),
            ("Gamma Labs", "gamma.dev"),
            ("Zeta Works", "zeta.com"),
        )
    ]


def test_company_select_offers_a_search_when_cut_short(web, user, many_companies, monkeypatch):
    from leads import page_selectors

    monkeypatch.setattr(page_selectors, "COMPANY_OPTIONS_LIMIT", 2)
    body = web.get("/leads/new/").content.decode()
    assert 'id="id_company-find"' in body and "Zeta Works" not in body
    # The search keeps the "+ New company…" option and asks for the lead owner's companies.
    assert f'hx-vals=\'{{ "empty": "new", "owner": "{user.pk}" }}\'' in body
    assert "The list shows your first companies" in body
    body = web.get("/leads/").content.decode()
    assert 'id="f-company-find"' in body and "Zeta Works" not in body
    assert "The list shows your first companies" in body
    # The search box never becomes a filter in the URL: it belongs to no form.
    assert 'form="f-company-find-detached"' in body
    # The create form and the list filter keep the search box when every company is listed.
    Company.objects.filter(name__in=["Gamma Labs", "Zeta Works"]).delete()
    for path, box in (("/leads/new/", "id_company-find"), ("/leads/", "f-company-find")):
        body = web.get(path).content.decode()
        assert f'id="{box}"' in body and "Type part of a name or domain to narrow" in body


def test_company_options_search_by_name_or_domain(web, user, other_user, many_companies):
    _alpha, beta, _gamma, zeta = many_companies
    CompanyFactory(user=other_user, name="Zeta Theirs", domain="zeta-theirs.com")
    body = web.get("/companies/options/", {"find": "zeta", "empty": "any"}).content.decode()
    assert body.startswith('<option value="">Any company</option>')
    assert f'<option value="{zeta.pk}">Zeta Works (zeta.com)</option>' in body
    assert "Theirs" not in body and "Alpha" not in body
    body = web.get("/companies/options/", {"find": "GAMMA.d"}).content.decode()
    assert "Gamma Labs" in body and "Any company" not in body
    # The current choice stays in the list and stays selected while the search narrows.
    body = web.get("/companies/options/", {"find": "zeta", "company": beta.pk}).content.decode()
    assert f'<option value="{beta.pk}" selected>Beta</option>' in body
    assert "Zeta Works" in body
    body = web.get("/companies/options/", {"find": "nothing like it"}).content.decode()
    assert "No company matches “nothing like it”" in body
    body = web.get("/companies/options/", {"find": "<b>x</b>"}).content.decode()
    assert "<b>" not in body and "&lt;b&gt;" in body


def test_company_options_never_show_another_users_company(web, other_user, many_companies):
    theirs = CompanyFactory(user=other_user, name="Hidden Inc")
    for params in ({"company": theirs.pk}, {"company_id": theirs.pk, "find": "hidden"}):
        body = web.get("/companies/options/", params).content.decode()
        assert "Hidden" not in body and f'value="{theirs.pk}"' not in body


def test_company_options_are_bounded(web, user, monkeypatch):
    from leads import page_selectors

    monkeypatch.setattr(page_selectors, "COMPANY_OPTIONS_LIMIT", 3)
    for i in range(5):
        CompanyFactory(user=user, name=f"Firm {i}")
    body = web.get("/companies/options/", {"find": "firm"}).content.decode()
    assert body.count('<option value="') - body.count('<option value="" disabled') == 3
    assert "more match: type more of the name" in body
    body = web.get("/companies/options/", {"find": "firm 1"}).content.decode()
    assert "Firm 1" in body and "more match" not in body


def test_create_with_a_company_beyond_the_select(web, user, many_companies):
    zeta = many_companies[-1]
    response = web.post("/leads/new/", {"email": "z@zeta.com", "status": "new", "company": zeta.pk})
    assert response.status_code == 302
    assert Lead.objects.get(user=user).company == zeta


def test_company_options_need_sign_in(client):
    response = client.get("/companies/options/", {"find": "a"})
    assert response.status_code == 302


# --- lead page --------------------------------------------------------------------------------


def test_lead_page_shows_fields_history_and_links(web, user, company):
    lead = make_lead(user=user, company=company, first_name="Ann", email="ann@acme.com")
    lead_set_status(lead=lead, status=Status.CONTACTED, source=Source.UI)
    LeadEvent.objects.create(
        lead=lead,
        user=user,
        kind=LeadEvent.Kind.UPDATE,
        from_status="contacted",
        to_status="contacted",
        source=Source.IMPORT,
        provider="hunter",
        changes={"position": ["", "CTO"]},
        at=lead.updated_at,
    )
    from integrations.models import ExternalLink, Integration

    integration = Integration.objects.create(
        user=user, provider="hunter", credentials_encrypted="x"
    )
    ExternalLink.objects.create(integration=integration, vendor_id="H-42", lead=lead)
    count, response = _queries(web, f"/leads/{lead.pk}/")
    body = response.content.decode()
    assert "Ann" in body and "ann@acme.com" in body and "Acme Corp" in body
    assert body.index("Fields changed") < body.index("Created as")  # newest first
    assert "CTO" in body and "(Hunter)" in body and ">Web UI<" in body
    assert "H-42" in body
    assert count <= 6


def test_inline_field_edit_view_and_save(web, user):
    lead = make_lead(user=user, email="a@me.com")
    response = web.get(f"/leads/{lead.pk}/field/phone/?edit=1", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b'name="phone"' in response.content
    response = web.post(
        f"/leads/{lead.pk}/field/phone/", {"phone": "+33 1 23"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert b"+33 1 23" in response.content and b"Saved" in response.content
    lead.refresh_from_db()
    assert lead.phone == "+33 1 23"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("score", "150", "less than or equal to 100"),
        ("score", "abc", "whole number from 0 to 100"),
        ("email", "not-an-email", "valid email"),
        ("email", "taken@me.com", "already exists"),
        ("company", "999999", "Choose one of your companies."),
    ],
)
def test_inline_field_errors_keep_the_typed_value(web, user, name, value, message):
    make_lead(user=user, email="taken@me.com")
    lead = make_lead(user=user, email="a@me.com", score=10)
    response = web.post(f"/leads/{lead.pk}/field/{name}/", {name: value}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    body = response.content.decode()
    assert message in body
    if name != "company":
        assert f'value="{value}"' in body
    lead.refresh_from_db()
    assert lead.score == 10 and lead.email == "a@me.com"


def test_inline_field_without_javascript(web, user):
    lead = make_lead(user=user, email="a@me.com")
    body = web.get(f"/leads/{lead.pk}/?edit=score").content.decode()
    assert 'name="score"' in body
    response = web.post(f"/leads/{lead.pk}/field/score/", {"score": "101"})
    assert response.status_code == 422 and b"less than or equal to 100" in response.content
    response = web.post(f"/leads/{lead.pk}/field/score/", {"score": "77"})
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.score == 77 and lead.score_is_manual
    assert web.get(f"/leads/{lead.pk}/field/bogus/").status_code == 404
    assert web.post(f"/leads/{lead.pk}/field/user/", {"user": "2"}).status_code == 404


def test_status_control_writes_history_and_returns_timeline(web, user):
    lead = make_lead(user=user, email="a@me.com")
    response = web.post(
        f"/leads/{lead.pk}/status/", {"status": "qualified"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="timeline"' in body and 'hx-swap-oob="true"' in body
    assert body.count('data-testid="history-entry"') == 2
    event = LeadEvent.objects.filter(lead=lead).latest("id")
    assert (event.from_status, event.to_status, event.source) == ("new", "qualified", "ui")
    response = web.post(f"/leads/{lead.pk}/status/", {"status": "bogus"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert Lead.objects.get(pk=lead.pk).status == "qualified"


def test_delete_lead_after_confirmation(web, user):
    lead = make_lead(user=user, email="a@me.com", first_name="Ann")
    body = web.get(f"/leads/{lead.pk}/delete/").content.decode()
    assert "Delete this lead?" in body
    response = web.post(f"/leads/{lead.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/leads/"
    assert not Lead.objects.filter(pk=lead.pk).exists()


# --- companies --------------------------------------------------------------------------------


def test_company_list_shows_counts_with_constant_queries(web, user, company):
    make_lead(user=user, company=company, email="a@acme.com")
    make_lead(user=user, company=company, email="b@acme.com")
    few, response = _queries(web, "/companies/")
    assert "Acme Corp" in response.content.decode()
    assert 'aria-label="2 leads at Acme Corp"' in response.content.decode()
    for i in range(20):
        c = CompanyFactory(user=user)
        make_lead(user=user, company=c, email=f"x{i}@c.com")
    many, _ = _queries(web, "/companies/")
    assert many == few <= 4
    body = web.get("/companies/?q=acme").content.decode()
    assert "Acme Corp" in body and "Company " not in body


def test_company_list_empty_state(web):
    assert "No companies yet" in web.get("/companies/").content.decode()


def test_company_page_lists_its_leads_and_edits(web, user, company):
    for i in range(3):
        make_lead(user=user, company=company, email=f"l{i}@acme.com")
    count, response = _queries(web, f"/companies/{company.pk}/")
    body = response.content.decode()
    assert "l2@acme.com" in body and "3 leads" in body
    assert count <= 5
    response = web.post(
        f"/companies/{company.pk}/", {"name": "Acme Inc", "domain": "ACME.io", "country_code": "FR"}
    )
    assert response.status_code == 302
    company.refresh_from_db()
    assert (company.name, company.domain, company.country_code) == ("Acme Inc", "acme.io", "FR")
    # The leads are found by the new name.
    assert "l0@acme.com" in web.get("/leads/?q=acme inc").content.decode()


def test_company_edit_errors(web, user, company):
    CompanyFactory(user=user, name="Other", domain="other.com")
    response = web.post(f"/companies/{company.pk}/", {"name": " ", "domain": "other.com"})
    assert response.status_code == 422
    body = response.content.decode()
    assert "This field is required." in body and "already have a company with this domain" in body
    response = web.post(f"/companies/{company.pk}/", {"name": "X", "domain": "not a domain"})
    assert "Enter a domain such as acme.com." in response.content.decode()
    company.refresh_from_db()
    assert company.name == "Acme Corp" and company.domain == "acme.com"


def test_company_create(web, user):
    response = web.post("/companies/new/", {"name": "Initech", "domain": "initech.com"})
    assert response.status_code == 302
    assert Company.objects.get(user=user).name == "Initech"
    assert web.post("/companies/new/", {"name": ""}).status_code == 422


def test_company_delete_refused_while_it_has_leads(web, user, company):
    make_lead(user=user, company=company, email="a@acme.com")
    body = web.get(f"/companies/{company.pk}/delete/").content.decode()
    assert "cannot be deleted" in body
    response = web.post(f"/companies/{company.pk}/delete/", follow=True)
    assert "still has 1 lead" in response.content.decode()
    assert Company.objects.filter(pk=company.pk).exists()
    Lead.objects.all().delete()
    response = web.post(f"/companies/{company.pk}/delete/")
    assert response.status_code == 302 and response["Location"] == "/companies/"
    assert not Company.objects.filter(pk=company.pk).exists()
