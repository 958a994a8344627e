"""InstantlyClient against the fake Instantly API V2 (and ``responses`` for odd answers)."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
import requests
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
from integrations.instantly import InstantlyClient, parse_lead
from integrations.records import ExportLead
from integrations.tests.fakes.instantly import FakeInstantly

API_KEY = "inst-key-0123456789abcdef"


@pytest.fixture(autouse=True)
def _quiet_werkzeug():
    # The fake's access log would drown the test output.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)


@pytest.fixture(scope="module")
def server():
    running = FakeInstantly().start()
    yield running
    running.stop()


@pytest.fixture
def fake(server):
    server.reset()
    server.add_account(API_KEY, workspace="w1")
    return server


@pytest.fixture
def client(fake) -> InstantlyClient:
    return InstantlyClient(API_KEY, base_url=fake.url, timeout=(1, 1))


def export_lead(lead_id: int, email: str, **fields: Any) -> ExportLead:
    values: dict[str, Any] = {
        "first_name": "",
        "last_name": "",
        "position": "",
        "phone": "",
        "linkedin_url": "",
        "company_name": "",
        "company_domain": "",
        "website": "",
        "country_code": "",
        "status": "new",
        "notes": "",
        "custom_attributes": {},
    }
    values.update(fields)
    return ExportLead(lead_id=lead_id, email=email, **values)


def read_all(client: InstantlyClient, list_id: str | None) -> tuple[list, list]:
    records, checkpoints = [], []
    checkpoint = None
    while True:
        page = client.fetch_page(list_id, checkpoint)
        records.extend(page.records)
        checkpoints.append(page.next_checkpoint)
        if page.next_checkpoint is None:
            return records, checkpoints
        checkpoint = page.next_checkpoint


# --- auth and credentials ---------------------------------------------------------------------


def test_sends_bearer_key_in_header_and_never_in_urls(fake, client):
    sent: list[requests.PreparedRequest] = []
    client.session.hooks["response"].append(lambda response, **_: sent.append(response.request))
    list_id = fake.add_list(API_KEY, "Q3 prospects")
    fake.seed(API_KEY, list_id, 3)

    client.check()
    client.lists()
    client.fetch_page(list_id, None)
    client.export_batch({"list_id": list_id}, [export_lead(1, "new@acme.example")])

    assert len(sent) >= 5
    for request in sent:
        assert request.headers["Authorization"] == f"Bearer {API_KEY}"
        assert API_KEY not in request.url
        body = request.body or b""
        assert API_KEY not in (body.decode() if isinstance(body, bytes) else body)
    assert API_KEY not in repr(client)


def test_check_refuses_a_bad_key_without_leaking_it(fake):
    bad = InstantlyClient("wrong-key-secret", base_url=fake.url)
    with pytest.raises(AuthError) as caught:
        bad.check()
    assert caught.value.status == 401
    assert not caught.value.retryable
    assert "wrong-key-secret" not in str(caught.value)


def test_missing_scope_is_an_auth_error_that_names_the_scope_problem(fake):
    fake.add_account("read-only-key", workspace="w1", scopes={"leads:read"})
    limited = InstantlyClient("read-only-key", base_url=fake.url)
    with pytest.raises(AuthError) as caught:
        limited.check()  # lead lists need lead_lists:read
    assert caught.value.status == 403
    assert "scope" in caught.value.message
    assert not caught.value.retryable


def test_vendor_message_echoing_the_key_is_redacted(client):
    response = requests.Response()
    response.status_code = 400
    response.reason = "Bad Request"
    body = {"statusCode": 400, "error": "Bad Request", "message": f"bad key {API_KEY}"}
    error = client.error_for(400, body, response)
    assert API_KEY not in str(error)
    assert "[api key]" in str(error)


# --- lists --------------------------------------------------------------------------------------


def test_lists_pages_through_lead_lists_and_campaigns(fake, client):
    list_ids = [fake.add_list(API_KEY, f"List {n:03d}") for n in range(150)]
    campaign_ids = [fake.add_campaign(API_KEY, f"Campaign {n}") for n in range(3)]
    fake.add_account("other-key", workspace="w2")
    fake.add_list("other-key", "Someone else's list")

    found = client.lists()

    lists = [item for item in found if item.kind == "list"]
    campaigns = [item for item in found if item.kind == "campaign"]
    assert [item.id for item in lists] == list_ids
    assert lists[0].name == "List 000"
    assert [item.id for item in campaigns] == [f"campaign:{cid}" for cid in campaign_ids]
    assert campaigns[2].name == "Campaign 2"
    assert all(item.count is None for item in found)
    list_requests = [path for _, path, _ in fake.requests if path.endswith("/lead-lists")]
    assert len(list_requests) == 2  # 100 + 50


@responses.activate
def test_lists_accepts_seed_shaped_keys_and_stops_on_repeated_cursor():
    base = "https://api.instantly.test/api/v2"
    responses.get(
        f"{base}/lead-lists",
        json={
            "lead_lists": [{"id": "l1", "name": "One"}, {"id": None}, "junk"],
            "next_starting_after": "l1",
        },
    )
    responses.get(f"{base}/lead-lists", json={"items": [{"id": "l1"}], "next_starting_after": "l1"})
    responses.get(f"{base}/campaigns", json={"campaigns": [{"id": "c1", "name": None}]})
    found = InstantlyClient(API_KEY, base_url=base).lists()
    assert [(item.id, item.name, item.kind) for item in found] == [
        ("l1", "One", "list"),
        ("l1", "l1", "list"),
        ("campaign:c1", "c1", "campaign"),
    ]


# --- fetch_page ---------------------------------------------------------------------------------


def test_fetch_page_walks_a_list_to_the_end_and_resumes(fake, client):
    list_id = fake.add_list(API_KEY, "Big")
    other = fake.add_list(API_KEY, "Other")
    seeded = fake.seed(API_KEY, list_id, 250)
    fake.seed(API_KEY, other, 30, start=1000)

    records, checkpoints = read_all(client, list_id)

    assert [record.vendor_id for record in records] == sorted(seeded)
    assert checkpoints[0] == {"starting_after": records[99].vendor_id}
    assert checkpoints[1] == {"starting_after": records[199].vendor_id}
    assert checkpoints[-1] is None
    first = client.fetch_page(list_id, None)
    assert first.total is None and len(first.records) == 100

    resumed = client.fetch_page(list_id, checkpoints[0])
    assert [r.vendor_id for r in resumed.records] == [r.vendor_id for r in records[100:200]]
    assert resumed.next_checkpoint == checkpoints[1]

    everyone, _ = read_all(client, None)
    assert len(everyone) == 280


def test_fetch_page_reads_a_campaign_given_as_campaign_prefixed_id(fake, client):
    campaign_id = fake.add_campaign(API_KEY, "Outbound")
    seeded = fake.seed(API_KEY, f"campaign:{campaign_id}", 120)
    fake.seed(API_KEY, fake.add_list(API_KEY, "Noise"), 10, start=500)

    records, checkpoints = read_all(client, f"campaign:{campaign_id}")

    assert [r.vendor_id for r in records] == seeded
    assert checkpoints == [{"starting_after": seeded[99]}, None]
    assert fake.bulk_requests == []  # reading exports nothing


def test_fetch_page_stops_on_an_exactly_full_last_page(fake, client):
    list_id = fake.add_list(API_KEY, "Round")
    fake.seed(API_KEY, list_id, 200)
    records, checkpoints = read_all(client, list_id)
    assert len(records) == 200
    assert len(checkpoints) == 3 and checkpoints[-1] is None  # the third page is empty


def test_fetch_page_with_malformed_checkpoint_starts_over(fake, client):
    list_id = fake.add_list(API_KEY, "L")
    fake.seed(API_KEY, list_id, 5)
    page = client.fetch_page(list_id, {"starting_after": 12345, "junk": True})
    assert len(page.records) == 5 and page.next_checkpoint is None


@responses.activate
def test_fetch_page_accepts_the_seed_leads_key_and_keeps_junk_as_records_without_an_id():
    base = "https://api.instantly.test/api/v2"
    responses.post(
        f"{base}/leads/list",
        json={
            "success": True,
            "leads": [{"id": "a", "email": "A@X.EXAMPLE"}, None, {"email": "x"}],
            "next_starting_after": None,
        },
    )
    page = InstantlyClient(API_KEY, base_url=base).fetch_page("list-1", None)
    # The importer fails each record without an id with a reason: none vanishes unseen.
    assert [(r.vendor_id, r.email) for r in page.records] == [
        ("a", "a@x.example"),
        ("", ""),
        ("", "x"),
    ]
    assert page.next_checkpoint is None
    sent = responses.calls[0].request
    assert sent.body and b'"list_id": "list-1"' in sent.body and b'"limit": 100' in sent.body


@pytest.mark.parametrize(
    "body", [{"next_starting_after": None}, {"items": None}, {"items": {"a": 1}, "leads": "x"}]
)
@responses.activate
def test_a_leads_answer_without_an_items_array_is_garbled(body):
    # Taken for an empty last page, it would end an import (or an export's duplicate check)
    # as if the list were empty.
    base = "https://api.instantly.test/api/v2"
    responses.post(f"{base}/leads/list", json=body)
    client = InstantlyClient(API_KEY, base_url=base)
    with pytest.raises(TransientError, match="no items array"):
        client.fetch_page("list-1", None)
    with pytest.raises(TransientError, match="no items array"):
        client._find_in_container("list", "list-1", ["a@x.example"])


# --- parsing ------------------------------------------------------------------------------------


def test_parse_lead_maps_every_field():
    record = parse_lead(
        {
            "id": "0190a1b2-0000-7000-8000-000000000001",
            "email": "  Jane.Doe@Acme.Example ",
            "first_name": " Jane ",
            "last_name": "Doe",
            "company_name": "Acme",
            "company_domain": None,
            "website": "https://WWW.Acme.Example/en/",
            "job_title": "CFO",
            "phone": "+44 20 0000 0000",
            "personalization": "Loved your talk",
            "status": 1,
            "lt_interest_status": 2,
            "email_open_count": 3,
            "email_reply_count": 1,
            "email_click_count": 0,
            "payload": {
                "city": "Leeds",
                "employees": 120,
                "arr": 1.5,
                "is_customer": False,
                "vip": True,
                "referrer": None,
                "tags": ["a", "b"],
                "nested": {"k": 1},
                "blank": "  ",
                "linkedin_url": "https://linkedin.example/in/jane",
            },
        }
    )
    assert record is not None
    assert record.vendor_id == "0190a1b2-0000-7000-8000-000000000001"
    assert record.email == "jane.doe@acme.example"
    assert (record.first_name, record.last_name) == ("Jane", "Doe")
    assert record.company_name == "Acme"
    assert record.company_domain == "acme.example"  # the website's host
    assert record.website == "https://WWW.Acme.Example/en/"
    assert record.position == "CFO"
    assert record.phone == "+44 20 0000 0000"
    assert record.linkedin_url == "https://linkedin.example/in/jane"
    assert record.status_hint == "qualified"
    assert record.signals == {"opens": 3, "replies": 1, "clicks": 0, "interest": 2}
    assert record.custom_attributes == {
        "city": "Leeds",
        "employees": "120",
        "arr": "1.5",
        "is_customer": "false",
        "vip": "true",
        "tags": '["a","b"]',
        "nested": '{"k":1}',
        "personalization": "Loved your talk",
    }


def test_parse_lead_survives_missing_nulls_and_wrong_types():
    assert parse_lead(None) is None
    assert parse_lead(["not", "a", "lead"]) is None
    assert parse_lead({"email": "no-id@x.example"}) is None
    record = parse_lead(
        {
            "id": 42,
            "email": None,
            "first_name": 7,
            "last_name": True,
            "company_domain": "https://Sub.Example.org:8443/x",
            "website": "not a url at all",
            "lt_interest_status": "1",
            "email_open_count": "x",
            "email_reply_count": -2,
            "email_click_count": 2.0,
            "payload": "not a dict",
            "personalization": None,
        }
    )
    assert record is not None
    assert record.vendor_id == "42"
    assert record.email == ""
    assert (record.first_name, record.last_name) == ("7", "")
    assert record.company_domain == "sub.example.org"
    assert record.custom_attributes == {}
    assert record.signals == {"replies": 0, "clicks": 2, "interest": 1}
    assert record.status_hint == "qualified"

    bare = parse_lead({"id": "b"})
    assert bare is not None
    assert bare.signals == {} and bare.status_hint is None and bare.company_domain == ""


@pytest.mark.parametrize(
    ("interest", "opens", "expected"),
    [
        (1, 0, "qualified"),
        (2, 0, "qualified"),
        (3, 0, "qualified"),
        (4, 0, "converted"),
        (-1, 5, "lost"),
        (-2, 0, "lost"),
        (-3, 0, "lost"),
        (0, 0, "contacted"),
        (-4, 0, None),  # No show: unknown to the mapping, no engagement → says nothing
        (-4, 2, "contacted"),
        (99, 0, None),  # workspace-defined
        (99, 1, "contacted"),
        (None, 0, None),
        (None, 1, "contacted"),
    ],
)
def test_interest_status_mapping(interest, opens, expected):
    record = parse_lead({"id": "x", "lt_interest_status": interest, "email_open_count": opens})
    assert record is not None and record.status_hint == expected
    if interest is None:
        assert "interest" not in record.signals
    else:
        assert record.signals["interest"] == interest


def test_replies_or_clicks_alone_count_as_contacted():
    assert parse_lead({"id": "r", "email_reply_count": 1}).status_hint == "contacted"
    assert parse_lead({"id": "c", "email_click_count": 1}).status_hint == "contacted"


def test_seeded_leads_parse_into_a_mix_of_statuses(fake, client):
    list_id = fake.add_list(API_KEY, "Mix")
    fake.seed(API_KEY, list_id, 60)
    records, _ = read_all(client, list_id)
    hints = {record.status_hint for record in records}
    assert hints == {None, "contacted", "qualified", "converted", "lost"}
    assert any(r.company_domain and not r.website for r in records)
    assert any(r.website and r.company_domain == r.website.split("/")[2][4:] for r in records)
    assert all("referrer" not in r.custom_attributes for r in records)
    assert all(r.email and r.email == r.email.lower() for r in records)


# --- export -------------------------------------------------------------------------------------


def test_export_creates_skips_and_reports_per_lead(fake, client):
    list_id = fake.add_list(API_KEY, "Export")
    leads = [
        export_lead(
            1,
            "Ann@Acme.Example",
            first_name="Ann",
            last_name="Lee",
            company_name="Acme",
            company_domain="acme.example",
            position="COO",
            linkedin_url="https://linkedin.example/in/ann",
            phone="+1 555 0100",
            status="qualified",
            custom_attributes={"personalization": "Hi Ann", "city": "Oslo", "email": "shadow"},
        ),
        export_lead(2, "bob@beta.example", status="converted", website="https://beta.example"),
        export_lead(3, "", status="qualified"),
        export_lead(4, "not-an-email", status="lost"),
        export_lead(5, "cy@gamma.example", status="lost"),
        export_lead(6, "dee@delta.example", status="contacted"),
    ]

    outcomes = client.export_batch({"list_id": list_id}, leads)

    assert [o.lead_id for o in outcomes] == [1, 2, 3, 4, 5, 6]
    by_id = {o.lead_id: o for o in outcomes}
    for lead_id in (1, 2, 5, 6):
        assert by_id[lead_id].ok and by_id[lead_id].created and by_id[lead_id].vendor_id
    assert (by_id[3].ok, by_id[3].detail) == (False, "no email")
    assert (by_id[4].ok, by_id[4].detail) == (False, "invalid email")

    [ann] = fake.find_leads(API_KEY, "ann@acme.example", list_id)
    assert ann["id"] == by_id[1].vendor_id
    assert ann["first_name"] == "Ann" and ann["website"] == "acme.example"
    assert ann["personalization"] == "Hi Ann"
    # The job title travels on the lead itself (a core field of bulk add), not as a variable.
    assert ann["job_title"] == "COO"
    assert ann["payload"] == {"city": "Oslo", "linkedin_url": "https://linkedin.example/in/ann"}
    assert ann["lt_interest_status"] == 1
    assert fake.find_leads(API_KEY, "bob@beta.example")[0]["lt_interest_status"] == 4
    assert fake.find_leads(API_KEY, "cy@gamma.example")[0]["lt_interest_status"] == -3
    assert fake.find_leads(API_KEY, "dee@delta.example")[0]["lt_interest_status"] is None
    [bulk] = fake.bulk_requests
    assert bulk["list_id"] == list_id and bulk["skip_if_in_list"] is True
    assert "campaign_id" not in bulk and len(bulk["leads"]) == 5  # lead 3 was not sent
    assert [(email, value) for _, email, value, _ in fake.interest_updates] == [
        ("ann@acme.example", 1),
        ("bob@beta.example", 4),
        ("cy@gamma.example", -3),
    ]

    # The round trip: importing what was exported gives the same CRM fields back.
    [record] = [r for r in read_all(client, list_id)[0] if r.email == "ann@acme.example"]
    assert (record.position, record.linkedin_url) == ("COO", "https://linkedin.example/in/ann")
    assert record.custom_attributes == {"city": "Oslo", "personalization": "Hi Ann"}


def test_exporting_twice_duplicates_nothing(fake, client):
    list_id = fake.add_list(API_KEY, "Twice")
    leads = [export_lead(n, f"person{n}@corp.example") for n in range(1, 6)]
    first = client.export_batch({"list_id": list_id}, leads)
    ids = {o.lead_id: o.vendor_id for o in first}
    assert all(o.ok and o.created for o in first)

    # Second time: some leads know their vendor id, some do not (looked up).
    for lead in leads[:3]:
        lead.vendor_id = ids[lead.lead_id]
    second = client.export_batch({"list_id": list_id}, leads)

    assert all(o.ok and not o.created for o in second)
    assert {o.lead_id: o.vendor_id for o in second} == ids
    assert fake.count_leads(API_KEY, list_id) == 5


def test_reexport_with_known_ids_needs_no_lookup(fake, client):
    list_id = fake.add_list(API_KEY, "Known")
    leads = [export_lead(n, f"k{n}@corp.example") for n in range(1, 4)]
    for lead, outcome in zip(leads, client.export_batch({"list_id": list_id}, leads), strict=True):
        lead.vendor_id = outcome.vendor_id
        lead.last_exported = outcome.exported
    before = len(fake.requests)
    again = client.export_batch({"list_id": list_id}, leads)
    assert len(fake.requests) - before == 0  # linked and unchanged: nothing to send
    assert all(o.unchanged for o in again)
    assert [o.vendor_id for o in again] == [lead.vendor_id for lead in leads]


def test_duplicate_emails_in_one_batch_become_one_lead(fake, client):
    list_id = fake.add_list(API_KEY, "Dupes")
    outcomes = client.export_batch(
        {"list_id": list_id},
        [export_lead(1, "same@corp.example"), export_lead(2, "SAME@corp.example")],
    )
    assert outcomes[0].created and outcomes[0].ok
    assert outcomes[1].ok and not outcomes[1].created
    assert outcomes[1].vendor_id == outcomes[0].vendor_id
    assert fake.count_leads(API_KEY, list_id) == 1


def test_mixed_skipped_and_invalid_are_told_apart(fake, client):
    list_id = fake.add_list(API_KEY, "Mixed")
    client.export_batch({"list_id": list_id}, [export_lead(1, "here@corp.example")])
    outcomes = client.export_batch(
        {"list_id": list_id},
        [
            export_lead(2, "here@corp.example"),
            export_lead(3, "broken@@corp"),
            export_lead(4, "fresh@corp.example"),
        ],
    )
    assert [(o.ok, o.created, o.detail) for o in outcomes] == [
        (True, False, ""),
        (False, False, "invalid email"),
        (True, True, ""),
    ]
    assert outcomes[0].vendor_id == fake.find_leads(API_KEY, "here@corp.example")[0]["id"]


@pytest.mark.parametrize("as_list_id", [False, True])
def test_export_to_a_campaign(fake, client, as_list_id):
    campaign_id = fake.add_campaign(API_KEY, "Launch")
    target = {"list_id": f"campaign:{campaign_id}"} if as_list_id else {"campaign_id": campaign_id}
    outcomes = client.export_batch(target, [export_lead(1, "c@corp.example", status="lost")])
    assert outcomes[0].ok and outcomes[0].created
    [bulk] = fake.bulk_requests
    assert bulk["campaign_id"] == campaign_id and bulk["skip_if_in_campaign"] is True
    assert "list_id" not in bulk
    lead = fake.find_leads(API_KEY, "c@corp.example", f"campaign:{campaign_id}")[0]
    assert lead["campaign"] == campaign_id and lead["lt_interest_status"] == -3
    assert fake.interest_updates[-1][3] == f"campaign:{campaign_id}"
    again = client.export_batch(target, [export_lead(1, "c@corp.example")])
    assert again[0].ok and not again[0].created and again[0].vendor_id == lead["id"]


@pytest.mark.parametrize("target", [{}, {"list_id": "a", "campaign_id": "b"}, {"list_id": ""}])
def test_export_needs_exactly_one_target(fake, client, target):
    with pytest.raises(BadRequest):
        client.export_batch(target, [export_lead(1, "a@b.example")])
    assert fake.requests == []


def test_export_of_leads_without_email_sends_nothing(fake, client):
    list_id = fake.add_list(API_KEY, "Empty")
    outcomes = client.export_batch({"list_id": list_id}, [export_lead(1, "  ")])
    assert [(o.ok, o.detail) for o in outcomes] == [(False, "no email")]
    assert fake.requests == []


def test_export_splits_more_than_a_thousand_leads(fake, client):
    list_id = fake.add_list(API_KEY, "Large")
    leads = [export_lead(n, f"bulk{n}@corp.example") for n in range(1001)]
    outcomes = client.export_batch({"list_id": list_id}, leads)
    assert len(outcomes) == 1001 and all(o.ok and o.created for o in outcomes)
    assert [len(body["leads"]) for body in fake.bulk_requests] == [1000, 1]
    assert fake.count_leads(API_KEY, list_id) == 1001


def test_failed_interest_update_fails_only_that_lead(fake, client):
    list_id = fake.add_list(API_KEY, "Interest")
    fake.inject("422", path="update-interest-status")
    outcomes = client.export_batch(
        {"list_id": list_id},
        [
            export_lead(1, "a@corp.example", status="qualified"),
            export_lead(2, "b@corp.example", status="lost"),
        ],
    )
    assert not outcomes[0].ok and "interest status" in outcomes[0].detail
    assert outcomes[0].vendor_id  # the lead itself was added
    assert outcomes[1].ok
    assert fake.find_leads(API_KEY, "b@corp.example")[0]["lt_interest_status"] == -3


def test_interest_update_outage_stops_the_batch(fake, client):
    list_id = fake.add_list(API_KEY, "Outage")
    fake.inject("500", path="update-interest-status")
    with pytest.raises(TransientError):
        client.export_batch({"list_id": list_id}, [export_lead(1, "a@corp.example", status="lost")])
    # The runner retries the batch: nothing is doubled, the status lands.
    outcomes = client.export_batch(
        {"list_id": list_id}, [export_lead(1, "a@corp.example", status="lost")]
    )
    assert outcomes[0].ok and not outcomes[0].created
    assert fake.count_leads(API_KEY, list_id) == 1
    assert fake.find_leads(API_KEY, "a@corp.example")[0]["lt_interest_status"] == -3


def test_plan_limit_is_quota_exceeded(fake):
    fake.add_account("small-key", workspace="small", max_leads=2)
    small = InstantlyClient("small-key", base_url=fake.url)
    list_id = fake.add_list("small-key", "Tiny")
    leads = [export_lead(n, f"q{n}@corp.example") for n in range(3)]
    with pytest.raises(QuotaExceeded) as caught:
        small.export_batch({"list_id": list_id}, leads)
    assert caught.value.status == 402 and not caught.value.retryable
    assert fake.count_leads("small-key", list_id) == 0


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "error", "status", "retryable"),
    [
        ("401", AuthError, 401, False),
        ("403", AuthError, 403, False),
        ("402", QuotaExceeded, 402, False),
        ("400", BadRequest, 400, False),
        ("404", NotFound, 404, False),
        ("422", BadRequest, 422, False),
        ("429", RateLimited, 429, True),
        ("500", TransientError, 500, True),
        ("garbage", TransientError, 200, True),
        ("timeout", TransientError, None, True),
        ("drop", TransientError, None, True),
    ],
)
def test_error_mapping(fake, client, fault, error, status, retryable):
    list_id = fake.add_list(API_KEY, "Errors")
    fake.timeout_sleep = 1.5  # over the client's 1 s read timeout, and quick to wind down
    fake.inject(fault, path="/leads/list")
    started = time.monotonic()
    with pytest.raises(error) as caught:
        client.fetch_page(list_id, None)
    assert type(caught.value) is error
    assert caught.value.status == status
    assert caught.value.retryable is retryable
    assert API_KEY not in str(caught.value)
    assert time.monotonic() - started < 2.5
    if fault == "429":
        assert caught.value.retry_after == 1.0
    if fault == "403":
        assert "scope" in caught.value.message
    # The fault is gone: the same call works again.
    assert len(client.fetch_page(list_id, None).records) == 0


def test_unknown_list_id_on_export_is_not_found(fake, client):
    with pytest.raises(NotFound):
        client.export_batch(
            {"list_id": "0190a1b2-0000-7000-8000-00000000dead"}, [export_lead(1, "a@corp.example")]
        )


@responses.activate
def test_plain_error_body_and_non_object_answers():
    base = "https://api.instantly.test/api/v2"
    responses.post(f"{base}/leads/list", json={"error": "Invalid list"}, status=400)
    responses.post(f"{base}/leads/list", json=["not", "an", "object"])
    client = InstantlyClient(API_KEY, base_url=base)
    with pytest.raises(BadRequest) as caught:
        client.fetch_page(None, None)
    assert "Invalid list" in caught.value.message
    with pytest.raises(TransientError):
        client.fetch_page(None, None)


# --- rate limits --------------------------------------------------------------------------------


def test_limiter_under_the_fake_limit_never_hits_429(fake):
    fake.rate_limits = [(10, 0.5)]
    limited = InstantlyClient(API_KEY, base_url=fake.url, limiter=RateLimiter([(8, 0.5)]))
    for _ in range(30):
        limited.check()
    assert fake.violations == 0


def test_without_a_limiter_the_fake_answers_429(fake, client):
    fake.rate_limits = [(10, 0.5)]
    with pytest.raises(RateLimited) as caught:
        for _ in range(30):
            client.check()
    assert caught.value.retry_after == 1.0
    assert fake.violations > 0


def test_rate_limit_is_shared_by_the_keys_of_a_workspace(fake):
    fake.rate_limits = [(10, 5.0)]
    fake.add_account("second-key", workspace="w1")
    fake.add_account("elsewhere-key", workspace="w2")
    first = InstantlyClient(API_KEY, base_url=fake.url)
    second = InstantlyClient("second-key", base_url=fake.url)
    elsewhere = InstantlyClient("elsewhere-key", base_url=fake.url)
    for _ in range(6):
        first.check()
    for _ in range(4):
        second.check()
    with pytest.raises(RateLimited):
        second.check()
    elsewhere.check()  # another workspace has its own budget


# --- the fake's own routes (used by the engine's tests and the benchmark) -----------------------


def test_fake_single_lead_routes_and_validation(fake):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {API_KEY}"
    url = fake.url
    made = session.post(f"{url}/lead-lists", json={"name": "Made by API"}).json()
    assert made["name"] == "Made by API"

    lead = session.post(
        f"{url}/leads",
        json={"list_id": made["id"], "email": "Solo@Corp.Example", "custom_variables": {"a": 1}},
    ).json()
    assert lead["email"] == "solo@corp.example" and lead["payload"] == {"a": 1}
    assert session.get(f"{url}/leads/{lead['id']}").json()["id"] == lead["id"]
    patched = session.patch(
        f"{url}/leads/{lead['id']}", json={"first_name": "Sol", "custom_variables": {"b": "x"}}
    ).json()
    assert patched["first_name"] == "Sol" and patched["payload"] == {"a": 1, "b": "x"}
    deleted = session.delete(f"{url}/leads/{lead['id']}")
    assert deleted.status_code == 200 and deleted.json()["id"] == lead["id"]
    missing = session.get(f"{url}/leads/{lead['id']}")
    assert missing.status_code == 404
    assert missing.json() == {"statusCode": 404, "error": "Not Found", "message": "Lead not found"}

    one = {"email": "x@corp.example"}
    assert session.post(f"{url}/leads/add", json={"leads": [one]}).status_code == 400
    both = {"leads": [one], "list_id": made["id"], "campaign_id": made["id"]}
    assert session.post(f"{url}/leads/add", json=both).status_code == 400
    nested = {"leads": [{**one, "custom_variables": {"n": {}}}], "list_id": made["id"]}
    assert session.post(f"{url}/leads/add", json=nested).status_code == 400
    assert session.post(f"{url}/leads/list", json={"limit": 101}).status_code == 400
    assert session.get(f"{url}/lead-lists", params={"limit": 0}).status_code == 400

    # Without skip flags an email already in the list is updated, never doubled.
    plain = {"leads": [one], "list_id": made["id"]}
    assert session.post(f"{url}/leads/add", json=plain).json()["leads_uploaded"] == 1
    again = session.post(f"{url}/leads/add", json={**plain, "leads": [{**one, "phone": "1"}]})
    assert again.json()["leads_uploaded"] == 0
    assert fake.find_leads(API_KEY, "x@corp.example")[0]["phone"] == "1"
    assert fake.count_leads(API_KEY, made["id"]) == 1


# --- issue 12: linked leads updated in place, moved to the chosen list; blocklist ------------


def test_a_linked_lead_sends_only_what_changed_and_nothing_when_nothing_did(
    fake: FakeInstantly, client: InstantlyClient
):
    list_id = fake.add_list(API_KEY, "Target")
    [first] = client.export_batch(
        {"list_id": list_id}, [export_lead(1, "ann@acme.example", first_name="Ann")]
    )
    assert first.created and first.exported["fields"] == {"first_name": "Ann"}
    linked = {"vendor_id": first.vendor_id, "last_exported": first.exported}

    fake.requests.clear()
    [same] = client.export_batch(
        {"list_id": list_id},
        [export_lead(1, "ann@acme.example", first_name="Ann", **linked)],
    )
    assert same.ok and same.unchanged
    assert fake.requests == []  # nothing sent at all

    [edited] = client.export_batch(
        {"list_id": list_id},
        [export_lead(1, "ann@acme.example", first_name="Ann", position="CFO", **linked)],
    )
    assert edited.ok and not edited.created and not edited.unchanged
    assert fake.patches == [(first.vendor_id, {"job_title": "CFO"})]  # the changed field only
    assert fake.lead(API_KEY, first.vendor_id)["job_title"] == "CFO"
    assert fake.count_leads(API_KEY, list_id) == 1


def test_a_lead_imported_from_another_list_ends_up_in_the_chosen_one(
    fake: FakeInstantly, client: InstantlyClient
):
    source = fake.add_list(API_KEY, "Imported from")
    target = fake.add_list(API_KEY, "Chosen")
    [vendor_id] = fake.seed(API_KEY, source, 1)
    # Linked by an import: never exported from the CRM, so last_exported is None.
    outcomes = client.export_batch(
        {"list_id": target},
        [export_lead(1, fake.lead(API_KEY, vendor_id)["email"], first_name="Zed",
                     vendor_id=vendor_id)],
    )  # fmt: skip
    assert outcomes[0].ok and outcomes[0].vendor_id == vendor_id
    assert fake.count_leads(API_KEY, target) == 1
    assert fake.count_leads(API_KEY, source) == 0
    assert fake.lead(API_KEY, vendor_id)["list_id"] == target
    assert outcomes[0].exported["container"] == f"list:{target}"


def test_a_linked_lead_deleted_at_instantly_is_added_again(
    fake: FakeInstantly, client: InstantlyClient
):
    list_id = fake.add_list(API_KEY, "Target")
    gone = "0190a000-0000-7000-8000-000000000000"
    [outcome] = client.export_batch(
        {"list_id": list_id}, [export_lead(1, "ann@acme.example", vendor_id=gone)]
    )
    assert outcome.ok and outcome.created and outcome.vendor_id != gone
    assert fake.count_leads(API_KEY, list_id) == 1


def test_blocklisted_leads_fail_with_a_reason_and_duplicates_are_not_failures(
    fake: FakeInstantly, client: InstantlyClient
):
    list_id = fake.add_list(API_KEY, "Target")
    fake.workspaces["w1"].blocklist.add("blocked.example")
    outcomes = client.export_batch(
        {"list_id": list_id},
        [
            export_lead(1, "ok@acme.example"),
            export_lead(2, "no@blocked.example"),
            export_lead(3, "ok@acme.example"),
        ],
    )
    assert fake.bulk_requests[-1]["leads"][1]["email"] == "no@blocked.example"
    assert (outcomes[0].ok, outcomes[0].created) == (True, True)
    assert (outcomes[1].ok, outcomes[1].detail) == (False, "on the Instantly workspace's blocklist")
    assert outcomes[2].ok and outcomes[2].vendor_id == outcomes[0].vendor_id


def test_bounced_and_unsubscribed_leads_carry_delivery_facts():
    bounced = parse_lead({"id": "a", "email": "a@x.example", "status": -1})
    unsubscribed = parse_lead({"id": "b", "email": "b@x.example", "status": -2})
    active = parse_lead({"id": "c", "email": "c@x.example", "status": 1})
    assert (bounced.email_status, bounced.do_not_contact_reason) == ("invalid", None)
    assert unsubscribed.do_not_contact_reason == "unsubscribed (Instantly)"
    assert (active.email_status, active.do_not_contact_reason) == (None, None)


def test_job_title_is_read_from_the_lead(fake: FakeInstantly, client: InstantlyClient):
    record = parse_lead({"id": "a", "email": "a@x.example", "job_title": "CTO"})
    assert record.position == "CTO" and "job_title" not in record.custom_attributes
