"""HunterClient against the fake Hunter server (and ``responses`` for bodies the fake never
sends). No database needed."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import responses

from integrations.http import (
    AuthError,
    BadRequest,
    NotFound,
    QuotaExceeded,
    RateLimited,
    RateLimiter,
    TransientError,
)
from integrations.hunter.client import MAX_OFFSET, HunterClient, parse_lead
from integrations.records import ExportLead
from integrations.tests.fakes.hunter import FakeHunter

KEY = "hunter-test-key-0123456789abcdef"
OFFLINE_URL = "https://hunter.invalid/v2"


@pytest.fixture(scope="module")
def server() -> Iterator[FakeHunter]:
    # One server for the module: stopping one waits out werkzeug's 0.5 s poll interval.
    running = FakeHunter().start()
    yield running
    running.stop()


@pytest.fixture
def fake(server: FakeHunter) -> FakeHunter:
    server.reset()
    # Functional tests run unthrottled; the rate-limit tests set their own windows.
    server.rate_limits = []
    server.add_account(KEY)
    return server


@pytest.fixture
def client(fake: FakeHunter) -> HunterClient:
    return HunterClient(KEY, base_url=fake.url, timeout=(1, 1))


def export_lead(lead_id: int, email: str, **overrides) -> ExportLead:
    values = {
        "lead_id": lead_id,
        "email": email,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "position": "Analyst",
        "phone": "+44 20 7946 0000",
        "linkedin_url": "https://www.linkedin.com/in/ada",
        "company_name": "Analytical Engines",
        "company_domain": "engines.example",
        "website": "",
        "country_code": "GB",
        "status": "new",
        "notes": "",
        "custom_attributes": {},
        "vendor_id": None,
    }
    values.update(overrides)
    return ExportLead(**values)


# --- auth -----------------------------------------------------------------------------------


def test_key_goes_in_the_header_never_in_the_url(fake: FakeHunter, client: HunterClient):
    list_id = fake.add_list(KEY, "Prospects")
    fake.seed(KEY, 5, list_id=list_id)
    client.check()
    client.lists()
    client.fetch_page(str(list_id), None)
    client.export_batch({"list_id": str(list_id)}, [export_lead(1, "new@example.com")])

    assert fake.auth_methods and set(fake.auth_methods) == {"header"}
    assert all(KEY not in url for url in fake.urls)
    assert all("api_key" not in url for url in fake.urls)
    assert KEY not in repr(client)


def test_wrong_key_is_an_auth_error_without_the_key_in_it(fake: FakeHunter):
    wrong = "wrong-key-fedcba9876543210"
    with pytest.raises(AuthError) as caught:
        HunterClient(wrong, base_url=fake.url, timeout=(1, 1)).check()
    assert caught.value.status == 401
    assert caught.value.retryable is False
    assert wrong not in str(caught.value)
    assert "No user found" in str(caught.value)


# --- lists ----------------------------------------------------------------------------------


def test_lists_pages_until_exhausted(fake: FakeHunter, client: HunterClient):
    ids = [fake.add_list(KEY, f"List {n}") for n in range(120)]
    fake.seed(KEY, 7, list_id=ids[3])

    found = client.lists()

    assert len(found) == 121  # the default "My leads" plus 120
    assert len({item.id for item in found}) == 121
    by_id = {item.id: item for item in found}
    assert by_id[str(ids[3])].name == "List 3"
    assert by_id[str(ids[3])].count == 7
    assert by_id[str(ids[0])].count == 0
    list_calls = [path for method, path, _ in fake.requests if path.endswith("/leads_lists")]
    assert len(list_calls) == 2


@responses.activate
def test_lists_survive_odd_bodies():
    responses.get(
        f"{OFFLINE_URL}/leads_lists",
        json={
            "data": {
                "leads_lists": [
                    {"id": 1, "name": "A", "leads_count": "12"},
                    {"id": 2, "name": None, "leads_count": None},
                    {"name": "no id"},
                    "junk",
                    {"id": 1, "name": "duplicate"},
                ]
            }
        },
    )
    found = HunterClient(KEY, base_url=OFFLINE_URL).lists()
    assert [(item.id, item.name, item.count) for item in found] == [
        ("1", "A", 12),
        ("2", "List 2", None),
    ]


# --- fetch_page -----------------------------------------------------------------------------


def test_fetch_page_walks_a_list_to_the_end(fake: FakeHunter, client: HunterClient):
    list_id = fake.add_list(KEY, "Conference")
    fake.seed(KEY, 30)  # other leads in the default list stay out
    seeded = fake.seed(KEY, 250, list_id=list_id)

    pages, checkpoint = [], None
    while True:
        page = client.fetch_page(str(list_id), checkpoint)
        pages.append(page)
        checkpoint = page.next_checkpoint
        if checkpoint is None:
            break
        assert set(checkpoint) == {"offset"}

    assert [len(page.records) for page in pages] == [100, 100, 50]
    assert [page.total for page in pages] == [250, 250, 250]
    assert [page.next_checkpoint for page in pages] == [{"offset": 100}, {"offset": 200}, None]
    got = [record.vendor_id for page in pages for record in page.records]
    # Newest first, every lead once.
    assert got == [str(lead_id) for lead_id in reversed(seeded)]


def test_fetch_page_resumes_from_a_checkpoint(fake: FakeHunter, client: HunterClient):
    seeded = fake.seed(KEY, 230)
    page = client.fetch_page(None, {"offset": 200})
    assert [record.vendor_id for record in page.records] == [
        str(lead_id) for lead_id in reversed(seeded[:30])
    ]
    assert page.next_checkpoint is None
    assert page.total == 230


def test_fetch_page_stops_on_a_full_last_page(fake: FakeHunter, client: HunterClient):
    fake.seed(KEY, 200)
    page = client.fetch_page(None, {"offset": 100})
    assert len(page.records) == 100
    assert page.next_checkpoint is None  # offset + count reached meta.total


def test_fetch_page_stops_at_hunters_offset_cap(fake: FakeHunter, client: HunterClient):
    fake.seed(KEY, MAX_OFFSET + 150)
    before_cap = client.fetch_page(None, {"offset": MAX_OFFSET - 100})
    assert before_cap.next_checkpoint == {"offset": MAX_OFFSET}
    last = client.fetch_page(None, before_cap.next_checkpoint)
    assert len(last.records) == 100
    assert last.next_checkpoint is None  # Hunter refuses offsets above 100,000
    requests_before = len(fake.requests)
    beyond = client.fetch_page(None, {"offset": MAX_OFFSET + 100})
    assert beyond.records == [] and beyond.next_checkpoint is None
    assert len(fake.requests) == requests_before  # nothing asked


def test_fetch_page_of_an_unknown_list_is_not_found(client: HunterClient):
    with pytest.raises(NotFound) as caught:
        client.fetch_page("999999", None)
    assert caught.value.retryable is False


# --- parsing --------------------------------------------------------------------------------


def test_seeded_leads_map_every_field(fake: FakeHunter, client: HunterClient):
    fake.seed(KEY, 14)  # lead 0 is the oldest, so the last on the page
    records = {record.first_name: record for record in client.fetch_page(None, None).records}

    alice = records["Alice"]  # seed index 0
    assert alice.email == "alice.martin0@acme.com"
    assert alice.last_name == "Martin"
    assert alice.position == "CEO"
    assert alice.phone == "+1 555 0000"
    assert alice.linkedin_url == ""
    assert alice.notes == "Met at the trade fair"
    assert alice.company_name == "Acme Corp"
    assert alice.website == "https://www.acme.com"
    assert alice.company_domain == "acme.com"
    assert alice.industry == "Manufacturing"
    assert alice.size == "201-500"
    assert alice.country_code == "US"
    assert alice.status_hint is None
    assert alice.signals == {"confidence": 0, "verification": "valid"}
    assert alice.custom_attributes == {
        "favorite_color": "teal",
        "referral_source": "webinar",
        "twitter": "alice0",
    }

    dmitri = records["Dmitri"]  # index 3: mixed-case email, "opened"
    assert dmitri.email == "dmitri.martin3@umbrella-labs.de"
    assert dmitri.status_hint == "contacted"
    assert dmitri.signals == {
        "confidence": 10,
        "verification": "unknown",
        "opens": 1,
        "clicks": 0,
        "replies": 0,
    }
    assert dmitri.custom_attributes == {}

    farid = records["Farid"]  # index 5: names only, no email
    assert farid.email == ""
    assert farid.vendor_id
    assert farid.signals == {}
    assert farid.status_hint is None

    chloe = records["Chloé"]  # website without a scheme
    assert chloe.website == "initech.co"
    assert chloe.company_domain == "initech.co"

    wayne = records["Grace"]  # Wayne Enterprises has no website
    assert wayne.website == "" and wayne.company_domain == ""


def test_odd_values_are_coerced_or_skipped(fake: FakeHunter, client: HunterClient):
    fake.add_raw_lead(
        KEY,
        {
            "email": "  MiXed@Example.COM ",
            "first_name": None,
            "last_name": 42,
            "position": {"title": "CEO"},
            "company": "  Spaced Inc  ",
            "confidence_score": "87",
            "website": "www.Example.org/path",
            "country_code": "fr",
            "phone_number": 33123456789,
            "verification": "valid",  # not the documented object
            "sending_status": "REPLIED",
            "twitter": "",
            "leads_list": None,
            "budget": 1500,
            "vip": True,
            "tags": ["a", "b"],
            "empty": None,
            "blank": "",
            "custom_attributes": {"extra": "x", "budget": "ignored", "none": None},
        },
    )
    fake.add_raw_lead(KEY, {"email": None, "confidence_score": 250, "verification": None})
    fake.add_raw_lead(KEY, {"confidence_score": True, "verification": {"status": "weird"}})

    newest, middle, oldest = client.fetch_page(None, None).records

    assert newest.signals == {}  # a boolean is no score, an unknown status no verification
    assert middle.email == "" and middle.signals == {"confidence": 100}
    assert oldest.email == "mixed@example.com"
    assert oldest.first_name == ""
    assert oldest.last_name == "42"
    assert oldest.position == ""
    assert oldest.company_name == "Spaced Inc"
    assert oldest.website == "www.Example.org/path"
    assert oldest.company_domain == "example.org"
    assert oldest.country_code == "FR"
    assert oldest.phone == "33123456789"
    assert oldest.status_hint == "contacted"
    assert oldest.signals == {"confidence": 87, "opens": 1, "replies": 1}
    assert oldest.custom_attributes == {
        "budget": "1500",
        "vip": "true",
        "tags": '["a","b"]',
        "extra": "x",
    }


@pytest.mark.parametrize(
    ("sending_status", "hint", "engagement"),
    [
        (None, None, {}),
        ("pending", None, {}),
        ("error", None, {}),
        ("bounced", None, {}),
        ("unsubscribed", None, {}),
        ("sent", "contacted", {"opens": 0, "clicks": 0, "replies": 0}),
        ("opened", "contacted", {"opens": 1, "clicks": 0, "replies": 0}),
        ("clicked", "contacted", {"opens": 1, "clicks": 1, "replies": 0}),
        ("replied", "contacted", {"opens": 1, "replies": 1}),
    ],
)
def test_sending_status_maps_to_hint_and_engagement(sending_status, hint, engagement):
    record = parse_lead({"id": 7, "sending_status": sending_status})
    assert record is not None
    assert record.status_hint == hint
    assert record.signals == engagement


@responses.activate
def test_fetch_page_keeps_junk_items_as_records_without_an_id():
    # The importer records each as a failed record ("without an id"): none vanishes unseen.
    responses.get(
        f"{OFFLINE_URL}/leads",
        json={
            "data": {
                "leads": [1, "x", None, {"id": None, "email": "A@b.co"}, {"id": True}, {"id": 5}]
            },
            "meta": {"total": "abc"},
        },
    )
    page = HunterClient(KEY, base_url=OFFLINE_URL).fetch_page(None, {"offset": "oops"})
    assert [record.vendor_id for record in page.records] == ["", "", "", "", "", "5"]
    assert page.records[3].email == "a@b.co"
    assert page.total is None
    assert page.next_checkpoint is None  # a short page ends the list
    assert "offset=0" in responses.calls[0].request.url


@pytest.mark.parametrize(
    "body", [{"meta": {}}, {"data": {"leads": "none"}}, {"data": None}, [1, 2], "ok"]
)
@responses.activate
def test_fetch_page_without_hunters_envelope_is_a_garbled_answer(body):
    # Taken for an empty last page, it would end an import as a success with nothing read.
    responses.get(f"{OFFLINE_URL}/leads", json=body)
    with pytest.raises(TransientError, match="unexpected answer for the leads list"):
        HunterClient(KEY, base_url=OFFLINE_URL).fetch_page(None, None)


# --- export ---------------------------------------------------------------------------------


def test_export_creates_then_updates_without_duplicates(fake: FakeHunter, client: HunterClient):
    list_id = fake.add_list(KEY, "From the CRM")
    leads = [
        export_lead(
            1,
            "Ada@Engines.example",
            custom_attributes={"tier": "gold", "twitter": "@ada", "empty": ""},
            notes="Prefers email",
        ),
        export_lead(2, "grace@navy.example", website="https://navy.example"),
        export_lead(3, "", first_name="No", last_name="Email"),
    ]

    first = client.export_batch({"list_id": str(list_id)}, leads)

    assert [(o.lead_id, o.ok, o.created) for o in first] == [
        (1, True, True),
        (2, True, True),
        (3, False, False),
    ]
    assert first[2].detail == "no email"
    assert fake.count(KEY, list_id=list_id) == 2
    stored = fake.lead_by_email(KEY, "ada@engines.example")
    assert stored is not None
    assert first[0].vendor_id == str(stored["id"])
    assert stored["leads_list"]["id"] == list_id
    assert stored["first_name"] == "Ada"
    assert stored["company"] == "Analytical Engines"
    assert stored["website"] == "engines.example"  # the domain when there is no website
    assert stored["phone_number"] == "+44 20 7946 0000"
    assert stored["country_code"] == "GB"
    assert stored["notes"] == "Prefers email"
    assert stored["twitter"] == "@ada"
    assert stored["tier"] == "gold"  # custom attributes come back as top-level keys
    method, path, body = fake.writes[0]
    assert (method, path) == ("PUT", "/leads")
    assert body["leads_list_id"] == list_id
    assert body["email"] == "ada@engines.example"
    assert body["custom_attributes"] == {"tier": "gold"}
    assert "empty" not in body["custom_attributes"]
    assert "notes" not in fake.writes[1][2]  # empty fields are not sent

    second = client.export_batch({"list_id": str(list_id)}, leads)

    assert [(o.ok, o.created) for o in second] == [(True, False), (True, False), (False, False)]
    assert [o.vendor_id for o in second[:2]] == [o.vendor_id for o in first[:2]]
    assert fake.count(KEY) == 2


def test_export_by_vendor_id_when_the_lead_has_no_email(fake: FakeHunter, client: HunterClient):
    (names_only,) = fake.seed(KEY, 6)[5:]  # seed index 5 has no email
    outcome = client.export_batch(
        {"list_id": None},
        [export_lead(9, "", vendor_id=str(names_only), position="Buyer")],
    )[0]
    assert outcome.ok and not outcome.created
    assert outcome.vendor_id == str(names_only)
    assert fake.lead(KEY, names_only)["position"] == "Buyer"
    assert fake.writes[-1][:2] == ("PUT", f"/leads/{names_only}")
    assert "leads_list_id" not in fake.writes[-1][2]
    assert fake.count(KEY) == 6


def test_export_records_per_lead_failures(fake: FakeHunter, client: HunterClient):
    (gone,) = fake.seed(KEY, 1)
    client.request("DELETE", f"/leads/{gone}")
    fake.inject_error(422, "duplicated_entry", "This lead cannot be saved.")

    outcomes = client.export_batch(
        {},
        [
            export_lead(1, "refused@example.com"),
            export_lead(2, "not-an-email"),
            export_lead(3, "fine@example.com"),
            export_lead(4, "", vendor_id=str(gone)),
        ],
    )

    assert [o.ok for o in outcomes] == [False, False, True, False]
    assert "This lead cannot be saved." in outcomes[0].detail
    assert "email address is invalid" in outcomes[1].detail
    assert outcomes[2].created
    assert "no longer exists" in outcomes[3].detail
    assert fake.count(KEY) == 1


def test_export_raises_errors_that_stop_the_run(fake: FakeHunter, client: HunterClient):
    fake.inject("401", after=1)
    with pytest.raises(AuthError):
        client.export_batch({}, [export_lead(1, "a@example.com"), export_lead(2, "b@example.com")])
    fake.inject("429")
    with pytest.raises(RateLimited):
        client.export_batch({}, [export_lead(3, "c@example.com")])


def test_export_to_a_missing_list_stops_the_run(client: HunterClient):
    with pytest.raises(NotFound):
        client.export_batch({"list_id": "424242"}, [export_lead(1, "a@example.com")])


# --- error mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inject", "error_class", "status", "retryable", "retry_after"),
    [
        ((401, "authentication_failed", {}), AuthError, 401, False, None),
        ((402, "insufficient_credits", {}), QuotaExceeded, 402, False, None),
        ((403, "too_many_requests", {"Retry-After": "2"}), RateLimited, 403, True, 2.0),
        ((403, "forbidden_api_key", {}), AuthError, 403, False, None),
        ((404, "not_found", {}), NotFound, 404, False, None),
        ((400, "wrong_params", {}), BadRequest, 400, False, None),
        ((422, "unprocessable_entity", {}), BadRequest, 422, False, None),
        ((429, "too_many_requests", {"Retry-After": "7"}), RateLimited, 429, True, 7.0),
        ((503, "service_unavailable", {}), TransientError, 503, True, None),
    ],
)
def test_hunter_errors_map_to_the_right_class(
    fake: FakeHunter, client: HunterClient, inject, error_class, status, retryable, retry_after
):
    code, error_id, headers = inject
    fake.inject_error(code, error_id, f"details of {error_id}", headers=headers)
    with pytest.raises(error_class) as caught:
        client.fetch_page(None, None)
    error = caught.value
    assert type(error) is error_class
    assert error.status == status
    assert error.retryable is retryable
    assert error.retry_after == retry_after
    assert f"details of {error_id}" in str(error)


@pytest.mark.parametrize(
    ("fault", "error_class", "retry_after"),
    [
        ("401", AuthError, None),
        ("429", RateLimited, 1.0),
        ("500", TransientError, None),
        ("drop", TransientError, None),
        ("garbage", TransientError, None),
        ("timeout", TransientError, None),
    ],
)
def test_transport_faults(fake: FakeHunter, client: HunterClient, fault, error_class, retry_after):
    fake.timeout_sleep = 1.5  # just over the client's 1 s read timeout
    fake.inject(fault)
    with pytest.raises(error_class) as caught:
        client.check()
    assert type(caught.value) is error_class
    assert caught.value.retryable is (error_class is not AuthError)
    assert caught.value.retry_after == retry_after
    client.check()  # the fault is gone: the next call works


def test_the_key_never_appears_in_an_error(fake: FakeHunter, client: HunterClient):
    fake.inject_error(400, "wrong_params", f"Unknown api_key {KEY}")
    with pytest.raises(BadRequest) as caught:
        client.check()
    assert KEY not in str(caught.value)
    assert "[api key]" in str(caught.value)


@responses.activate
def test_an_error_envelope_in_a_200_is_an_error():
    responses.get(
        f"{OFFLINE_URL}/leads_lists",
        json={"errors": [{"id": "authentication_failed", "code": 401, "details": "No user"}]},
    )
    with pytest.raises(AuthError):
        HunterClient(KEY, base_url=OFFLINE_URL).check()


# --- rate limit -----------------------------------------------------------------------------


def test_a_limiter_under_the_fakes_limit_never_gets_a_429(fake: FakeHunter):
    fake.rate_limits = [(6, 0.5)]
    limited = HunterClient(KEY, base_url=fake.url, timeout=(1, 1), limiter=RateLimiter([(5, 0.5)]))
    started = time.monotonic()
    for _ in range(16):
        limited.check()
    assert fake.violations == 0
    assert time.monotonic() - started >= 1.0  # the limiter did make it wait


def test_without_a_limiter_the_fake_answers_429(fake: FakeHunter, client: HunterClient):
    fake.rate_limits = [(3, 1.0)]
    with pytest.raises(RateLimited) as caught:
        for _ in range(10):
            client.check()
    assert caught.value.status == 429
    assert caught.value.retry_after == 1.0
    assert fake.violations > 0


def test_hunters_documented_403_rate_limit_backs_off(fake: FakeHunter, client: HunterClient):
    fake.rate_limits = [(2, 1.0)]
    fake.rate_limit_status = 403
    with pytest.raises(RateLimited) as caught:
        for _ in range(5):
            client.check()
    assert caught.value.status == 403
    assert caught.value.retryable


# --- issue 12: known fields, errors in words, the offset cap, delivery facts ----------------


def test_company_type_and_updated_at_are_fields_not_custom_attributes(
    fake: FakeHunter, client: HunterClient
):
    fake.seed(KEY, 5)
    page = client.fetch_page(None, None)
    for record in page.records:
        assert "company_type" not in record.custom_attributes
        assert "updated_at" not in record.custom_attributes
    # The custom attributes Hunter returns as top-level keys are still kept.
    assert any("favorite_color" in r.custom_attributes for r in page.records)


def test_a_401_says_to_enter_a_valid_key(fake: FakeHunter, client: HunterClient):
    fake.inject_error(401, "authentication_failed", "No user found for the API key supplied")
    with pytest.raises(AuthError) as caught:
        client.check()
    assert "Hunter refused the API key" in caught.value.message


def test_a_monthly_usage_429_stops_at_once_as_quota(fake: FakeHunter, client: HunterClient):
    fake.use_up_monthly_quota()
    with pytest.raises(QuotaExceeded) as caught:
        client.fetch_page(None, None)
    assert caught.value.retryable is False
    assert "monthly quota is used up" in caught.value.message


def test_a_persistent_403_says_key_or_rate_limit(fake: FakeHunter, client: HunterClient):
    fake.inject_error(403, "too_many_requests", "You have reached the rate limit.")
    with pytest.raises(RateLimited) as caught:
        client.fetch_page(None, None)
    assert caught.value.retryable is True
    assert "Hunter refused the key or the rate limit" in caught.value.give_up_message


def test_a_list_past_the_offset_cap_is_reported_cut_short(fake: FakeHunter, client: HunterClient):
    fake.seed(KEY, MAX_OFFSET + 150)
    last = client.fetch_page(None, {"offset": MAX_OFFSET})
    assert last.next_checkpoint is None
    assert last.stopped_short is not None
    assert "read 100,100 of 100,150" in last.stopped_short
    # A list that ends before the cap is not cut short.
    assert client.fetch_page(None, {"offset": MAX_OFFSET - 100}).stopped_short is None


def test_bounces_unsubscribes_and_verification_become_delivery_facts():
    base = {"id": 1, "email": "a@acme.com"}
    bounced = parse_lead({**base, "sending_status": "bounced",
                          "verification": {"status": "valid", "date": "2026-01-02"}})  # fmt: skip
    assert (bounced.email_status, bounced.do_not_contact_reason) == ("invalid", None)
    unsubscribed = parse_lead({**base, "sending_status": "unsubscribed"})
    assert unsubscribed.do_not_contact_reason == "unsubscribed (Hunter)"
    verified = parse_lead(
        {**base, "verification": {"status": "accept_all", "date": "2026-03-04T05:06:07Z"}}
    )
    assert verified.email_status == "accept_all"
    assert verified.email_verified_at.isoformat() == "2026-03-04T05:06:07+00:00"
    pending = parse_lead({**base, "verification": {"status": "pending", "date": "junk"}})
    assert (pending.email_status, pending.email_verified_at) == (None, None)
