"""Random and hostile input never gets a 5xx, and a refused write stores nothing."""

from __future__ import annotations

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import Company, Lead
from leads.tests.conftest import ApiClient
from leads.tests.factories import CompanyFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST_PARAMS = [
    "status", "company_id", "min_score", "max_score", "created_after", "created_before", "q",
    "email", "do_not_contact", "email_status", "cursor", "limit", "bogus",
]  # fmt: skip
LEAD_FIELDS = [
    "company_id", "status", "score", "notes", "email", "first_name", "last_name", "position",
    "phone", "linkedin_url", "source", "custom_attributes", "id", "created_at", "unknown",
]  # fmt: skip

nasty_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        ["", " ", "0", "-1", "1e400", "NaN", "2026-02-30", "9" * 40, "' OR 1=1 --",
         "<script>alert(1)</script>", "\x00", "%", "_", '"', "new", "lost", "ünï©ødé",
         # Digits str.isdigit() accepts and int() refuses, others int() reads, and an id past
         # the databases' integers (the security review's last 500s).
         "²", "¹²", "٣", "\uff11\uff12", "9" * 25, "true", "1.7"]
    ),
)  # fmt: skip
json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        nasty_text,
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)

HYPOTHESIS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def fuzz_api(db):
    api = ApiClient(UserFactory(username="fuzzer"))
    api.company = CompanyFactory(user=api.user, name="Fuzz Co", domain="fuzz.example")
    return api


@HYPOTHESIS
@given(params=st.dictionaries(st.sampled_from(LIST_PARAMS), nasty_text, max_size=5))
def test_list_and_stats_never_5xx(fuzz_api, params):
    for path in ["/v1/leads", "/v1/leads/stats", "/v1/companies"]:
        response = fuzz_api.get(path, params)
        assert response.status_code in (200, 400), (path, params, response.content)
        assert response["Content-Type"] == "application/json"


@HYPOTHESIS
@given(body=st.dictionaries(st.sampled_from(LEAD_FIELDS), json_values, max_size=6))
def test_lead_writes_never_5xx_and_refusals_store_nothing(fuzz_api, body):
    before = Lead.objects.count()
    response = fuzz_api.post("/v1/leads", body)
    assert response.status_code in (201, 400), (body, response.content)
    if response.status_code == 400:
        assert Lead.objects.count() == before
    lead = Lead.objects.filter(user=fuzz_api.user).first()
    if lead is not None:
        snapshot = Lead.objects.filter(pk=lead.pk).values().get()
        patched = fuzz_api.patch(f"/v1/leads/{lead.pk}", body)
        assert patched.status_code in (200, 400), (body, patched.content)
        if patched.status_code == 400:
            assert Lead.objects.filter(pk=lead.pk).values().get() == snapshot


@HYPOTHESIS
@given(
    body=st.dictionaries(
        st.sampled_from(["name", "domain", "website", "industry", "size", "country_code", "x"]),
        json_values,
        max_size=4,
    )
)
def test_company_writes_never_5xx(fuzz_api, body):
    before = Company.objects.count()
    response = fuzz_api.post("/v1/companies", body)
    assert response.status_code in (201, 400), (body, response.content)
    if response.status_code == 400:
        assert Company.objects.count() == before


@HYPOTHESIS
@given(raw=st.binary(max_size=200))
def test_raw_bodies_never_5xx(fuzz_api, raw):
    response = fuzz_api.client.post("/v1/leads", raw, content_type="application/json")
    assert response.status_code in (201, 400), (raw, response.content)


@HYPOTHESIS
@given(depth=st.integers(min_value=1, max_value=5_000), opener=st.sampled_from(["[", '{"a":']))
def test_nested_json_bodies_never_5xx(fuzz_api, depth, opener):
    closer = "]" if opener == "[" else "}"
    raw = opener * depth + "1" + closer * depth
    response = fuzz_api.client.post("/v1/leads", raw, content_type="application/json")
    assert response.status_code == 400, (depth, opener, response.status_code)


PAGE_PARAMS = [*LIST_PARAMS, "company", "find", "after", "order"]


@HYPOTHESIS
@given(
    path=st.sampled_from(
        ["/leads/", "/board/", "/dashboard/", "/companies/options/", "/leads/new/"]
    ),
    params=st.dictionaries(st.sampled_from(PAGE_PARAMS), nasty_text, max_size=4),
)
def test_pages_never_5xx_whatever_their_query(fuzz_api, path, params):
    client = Client()
    client.force_login(fuzz_api.user)
    response = client.get(path, params)
    assert response.status_code < 500, (path, params, response.status_code)
