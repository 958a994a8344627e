"""Every page works under the Content-Security-Policy: no violation in a real browser."""

from __future__ import annotations

import pytest

from integrations import services as integration_services
from leads.tests.factories import CompanyFactory, make_lead

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Chromium reports a blocked resource or inline code on the console; this listener also sees
# violations that leave no console line (it runs outside the page's policy, before its scripts).
LISTEN = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + e.sourceFile);
});
"""

CSV = "Email,First name,Company\nann@acme.com,Ann,Acme\nbob@globex.com,Bob,Globex\n"


def _violations(session) -> list[str]:
    seen = [text for text in session.console_errors if "Content Security Policy" in text]
    return seen + session.page.evaluate("window.__csp || []")


def test_no_page_breaks_the_content_security_policy(signed_in):
    session = signed_in("csp")
    session.context.add_init_script(LISTEN)
    page = session.page
    company = CompanyFactory(user=session.user, name="Globex", domain="globex.com")
    lead = make_lead(user=session.user, company=company, first_name="Pat", email="pat@globex.com")
    make_lead(user=session.user, company=company, first_name="Sam", status="qualified")
    integration = integration_services.integration_create(
        user=session.user, provider="hunter", credentials={"api_key": "k" * 20}, settings={}
    )
    checked = []

    def visit(path: str, ready) -> None:
        response = page.goto(f"{session.base}{path}")
        assert response is not None
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        ready()
        page.wait_for_load_state("networkidle")
        assert _violations(session) == [], path
        checked.append(path)

    visit("/", lambda: page.get_by_role("heading", name="Your pipeline").wait_for())
    visit("/board/", lambda: page.get_by_role("heading", name="Pipeline board").wait_for())
    visit("/leads/", lambda: page.get_by_role("heading", name="Leads").wait_for())
    visit(f"/leads/{lead.pk}/", lambda: page.locator("#timeline").wait_for())
    # An htmx swap works too: change the status from the lead page.
    page.get_by_test_id("status-qualified").click()
    page.locator("#head-status", has_text="Qualified").wait_for()
    assert _violations(session) == []
    visit("/dashboard/", lambda: page.locator("canvas").first.wait_for())
    # Chart.js drew something: its canvas has a size it set itself (CSSOM, allowed).
    assert page.locator("canvas").first.bounding_box()["height"] > 10
    visit("/integrations/", lambda: page.get_by_role("heading", name="Integrations").wait_for())
    visit(f"/integrations/{integration.pk}/", lambda: page.get_by_role("heading").first.wait_for())
    visit("/leads/import/", lambda: page.get_by_label("CSV file").wait_for())
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "few.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    page.get_by_role("button", name="Upload and preview").click()
    page.get_by_role("heading", name="Map the columns of few.csv").wait_for()
    assert _violations(session) == []
    visit("/settings/tokens/", lambda: page.get_by_label("Name").wait_for())
    page.get_by_label("Name").fill("csp check")
    page.get_by_role("button", name="Create token").click()
    page.locator(".token-created").wait_for()
    assert _violations(session) == []
    # Swagger UI from drf-spectacular-sidecar: its init script is a separate response.
    visit("/v1/docs", lambda: page.locator(".swagger-ui .info .title").wait_for())
    page.locator(".opblock-summary", has_text="/v1/leads").first.wait_for()
    assert _violations(session) == []
    assert session.console_errors == []
    # The Django admin, for a staff user (Chromium asks it for /favicon.ico: a 404 on the console).
    session.user.is_staff = session.user.is_superuser = True
    session.user.save()
    visit("/admin/", lambda: page.get_by_role("heading", name="Site administration").wait_for())
    visit("/admin/leads/lead/", lambda: page.locator("#changelist").wait_for())
    visit(f"/admin/leads/lead/{lead.pk}/change/", lambda: page.locator("form").first.wait_for())
    assert len(checked) == 13
