"""SnovioClient against the fake Snov.io: token life cycle, lists, paging, parsing, export,
errors and the client-side rate limit. No database needed."""

from __future__ import annotations

import time
from typing import Any

import pytest

from integrations.http import (
    AuthError,
    BadRequest,
    NotFound,
    QuotaExceeded,
    RateLimited,
    RateLimiter,
    TransientError,
)
from integrations.records import ExportLead
from integrations.snovio.client import (
    PAGE_SIZE,
    MemoryTokenStore,
    SnovioClient,
    parse_prospect,
)
from integrations.tests.fakes.snovio import DUPLICATE_MESSAGE, OAUTH_PATH, FakeSnovio

CLIENT_ID = "snov-client-0a1b2c3d"
CLIENT_SECRET = "snov-secret-9z8y7x6w"
LIST_ID = 4242
LISTS_PATH = "/v1/get-user-lists"


@pytest.fixture(scope="module")
def server():
    running = FakeSnovio().start()
    yield running
    running.stop()


@pytest.fixture
def fake(server):
    server.reset()
    server.add_account(CLIENT_ID, CLIENT_SECRET)
    return server


def make_client(fake: FakeSnovio, **options: Any) -> SnovioClient:
    options.setdefault("timeout", (1.0, 1.0))
    return SnovioClient(CLIENT_ID, CLIENT_SECRET, base_url=fake.url, **options)


@pytest.fixture
def client(fake):
    return make_client(fake)


def lead(lead_id: int, email: str, **fields: Any) -> ExportLead:
    values: dict[str, Any] = {
        "lead_id": lead_id,
        "email": email,
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
    return ExportLead(**values)


class FakeClock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


# --- auth and the token ---------------------------------------------------------------------


def test_credentials_go_in_the_token_body_and_the_token_in_a_header(fake, client):
    client.lists()

    (token_call, api_call) = fake.request_log
    assert token_call[:2] == ("POST", OAUTH_PATH)
    assert token_call[3] == ""  # no Authorization header on the token request itself
    assert api_call[:2] == ("GET", LISTS_PATH)
    assert api_call[3].startswith("Bearer ") and len(api_call[3]) > len("Bearer ")
    token = api_call[3].removeprefix("Bearer ")
    for _method, path, query, _auth in fake.request_log:
        for secret in (CLIENT_ID, CLIENT_SECRET, token):
            assert secret not in path and secret not in query


def test_check_passes_with_good_credentials(fake, client):
    client.check()
    assert fake.token_requests[CLIENT_ID] == 1


def test_bad_credentials_raise_a_plain_auth_error(fake):
    client = SnovioClient(CLIENT_ID, "wrong-secret-123", base_url=fake.url)
    with pytest.raises(AuthError) as caught:
        client.check()
    assert not caught.value.retryable
    assert "enter them again" in str(caught.value)
    assert "wrong-secret-123" not in str(caught.value)
    assert [path for _, path, _, _ in fake.request_log] == [OAUTH_PATH]


def test_token_endpoint_400_is_an_auth_error_and_500_is_transient(fake, client):
    fake.script(400, {"error": "invalid_request", "message": "Missing client_id"}, path="oauth")
    with pytest.raises(AuthError):
        client.lists()
    fake.inject("500", path=OAUTH_PATH)
    with pytest.raises(TransientError) as caught:
        client.lists()
    assert caught.value.retryable


def test_token_is_cached_over_many_calls(fake, client):
    fake.seed(CLIENT_ID, LIST_ID, 150)
    client.check()
    client.lists()
    client.fetch_page(str(LIST_ID), None)
    client.fetch_page(str(LIST_ID), {"page": 2})
    client.export_batch({"list_id": LIST_ID}, [lead(1, "new@example.com")])
    assert fake.token_requests[CLIENT_ID] == 1


def test_token_is_renewed_when_less_than_a_minute_remains(fake, client):
    clock = FakeClock()
    client.clock = clock
    client.lists()
    clock.now += 3600 - 61  # 61 s left: still good
    client.lists()
    assert fake.token_requests[CLIENT_ID] == 1
    clock.now += 2  # 59 s left: renew before calling
    client.lists()
    assert fake.token_requests[CLIENT_ID] == 2
    # Renewed ahead of time: no call went out with a stale token and had to be repeated.
    paths = [path for _, path, _, _ in fake.request_log]
    assert paths == [OAUTH_PATH, LISTS_PATH, LISTS_PATH, OAUTH_PATH, LISTS_PATH]


def test_a_token_shorter_lived_than_the_margin_is_renewed_every_call(fake, client):
    fake.token_lifetime = 30
    client.lists()
    client.lists()
    assert fake.token_requests[CLIENT_ID] == 2


def test_an_expired_token_is_renewed_once_and_the_call_repeated(fake, client):
    fake.seed(CLIENT_ID, LIST_ID, 5)
    client.lists()
    fake.expire_tokens()  # the vendor ends the token early (or another process revoked it)

    page = client.fetch_page(str(LIST_ID), None)

    assert len(page.records) == 5
    assert fake.token_requests[CLIENT_ID] == 2
    paths = [path for _, path, _, _ in fake.request_log]
    assert paths == [OAUTH_PATH, LISTS_PATH, "/v1/prospect-list", OAUTH_PATH, "/v1/prospect-list"]


def test_a_401_mid_run_renews_the_token(fake, client):
    client.lists()
    fake.inject("401", path=LISTS_PATH)
    assert client.lists() == []
    assert fake.token_requests[CLIENT_ID] == 2


def test_a_second_401_after_renewal_is_an_auth_error(fake, client):
    fake.inject("401", times=5, path=LISTS_PATH)
    with pytest.raises(AuthError) as caught:
        client.lists()
    assert caught.value.status == 401 and not caught.value.retryable
    assert fake.token_requests[CLIENT_ID] == 2  # the first token, one renewal, no more
    assert len([1 for _, path, _, _ in fake.request_log if path == OAUTH_PATH]) == 2


def test_credentials_revoked_mid_run_raise_an_auth_error(fake, client):
    client.lists()
    fake.accounts[CLIENT_ID] = "rotated-secret"
    fake.expire_tokens()
    with pytest.raises(AuthError) as caught:
        client.lists()
    assert "enter them again" in str(caught.value)


def test_the_token_store_is_read_and_written(fake):
    store = MemoryTokenStore()
    first = make_client(fake, token_store=store)
    before = time.time()
    first.lists()
    token, expires_at = store.load()
    assert before + 3600 - 5 <= expires_at <= time.time() + 3600

    # Another client (another run, another process) with the same store reuses the token.
    second = make_client(fake, token_store=store)
    second.lists()
    assert fake.token_requests[CLIENT_ID] == 1
    assert fake.request_log[-1][3] == f"Bearer {token}"


def test_a_token_from_the_store_is_used_without_asking_for_one(fake):
    store = MemoryTokenStore()
    token, expires_at = fake.issue_token(CLIENT_ID)
    store.save(token, expires_at)
    make_client(fake, token_store=store).lists()
    assert fake.token_requests[CLIENT_ID] == 0
    assert fake.request_log[-1][3] == f"Bearer {token}"


def test_an_expired_or_broken_stored_token_is_replaced(fake):
    class BrokenStore(MemoryTokenStore):
        def load(self):
            return ("token", "not-a-time") if self._token is None else self._token

    store = MemoryTokenStore()
    store.save("old-token", time.time() - 10)
    make_client(fake, token_store=store).lists()
    assert store.load()[0] != "old-token"

    broken = BrokenStore()
    make_client(fake, token_store=broken).lists()
    assert fake.token_requests[CLIENT_ID] == 2
    assert broken.load()[0] != "token"


# --- lists ----------------------------------------------------------------------------------


def test_lists_skip_deleted_lists_and_other_accounts(fake, client):
    fake.seed(CLIENT_ID, LIST_ID, 3, name="Webinar leads")
    empty_id = fake.add_list(CLIENT_ID, "Empty")
    fake.add_account("someone-else", "their-secret")
    fake.seed("someone-else", 777, 2, name="Not mine")

    lists = client.lists()

    assert {(x.id, x.name, x.count) for x in lists} == {
        (str(LIST_ID), "Webinar leads", 3),
        (str(empty_id), "Empty", 0),
    }
    assert all(x.kind == "list" for x in lists)


def test_lists_accept_a_data_envelope_and_odd_items(fake, client):
    items = [
        {"id": 5, "name": "Five", "contacts": "7", "isDeleted": False},
        {"id": None, "name": "no id"},
        "junk",
        None,
        {"id": 6, "name": None, "contacts": None, "isDeleted": "0"},
        {"id": 7, "name": "Gone", "isDeleted": True},
        {"id": 8, "name": "Gone too", "isDeleted": 1},
    ]
    fake.script(200, {"data": items}, path=LISTS_PATH)
    assert [(x.id, x.name, x.count) for x in client.lists()] == [
        ("5", "Five", 7),
        ("6", "List 6", None),
    ]
    fake.script(200, {"success": True}, path=LISTS_PATH)
    assert client.lists() == []


# --- fetching pages -------------------------------------------------------------------------


def test_fetch_page_walks_every_page_until_a_short_one(fake, client):
    fake.seed(CLIENT_ID, LIST_ID, 250)
    checkpoints, ids = [], []
    checkpoint = None
    while True:
        page = client.fetch_page(str(LIST_ID), checkpoint)
        assert page.total == 250
        ids += [record.vendor_id for record in page.records]
        checkpoints.append(page.next_checkpoint)
        checkpoint = page.next_checkpoint
        if checkpoint is None:
            break
    assert checkpoints == [{"page": 2}, {"page": 3}, None]
    assert ids == [prospect["id"] for prospect in fake.prospects(LIST_ID)]
    assert len(set(ids)) == 250


def test_fetch_page_resumes_from_a_checkpoint(fake, client):
    fake.seed(CLIENT_ID, LIST_ID, 250)
    page = client.fetch_page(str(LIST_ID), {"page": 3})
    assert len(page.records) == 50 and page.next_checkpoint is None
    assert page.records[0].vendor_id == fake.prospects(LIST_ID)[200]["id"]


def test_a_list_of_exactly_full_pages_ends_on_an_empty_page(fake, client):
    fake.seed(CLIENT_ID, LIST_ID, 2 * PAGE_SIZE)
    assert client.fetch_page(str(LIST_ID), {"page": 2}).next_checkpoint == {"page": 3}
    last = client.fetch_page(str(LIST_ID), {"page": 3})
    assert last.records == [] and last.next_checkpoint is None


def test_fetch_page_needs_a_list(fake, client):
    with pytest.raises(BadRequest) as caught:
        client.fetch_page(None, None)
    assert "choose a list" in str(caught.value)
    assert fake.request_log == []


def test_fetch_page_of_an_unknown_or_deleted_list_is_not_found(fake, client):
    with pytest.raises(NotFound):
        client.fetch_page("123456", None)
    deleted = fake.add_list(CLIENT_ID, "Deleted", deleted=True)
    with pytest.raises(NotFound):
        client.fetch_page(str(deleted), None)


def test_seeded_prospects_are_parsed_into_records(fake, client):
    fake.seed(CLIENT_ID, LIST_ID, 10)
    records = client.fetch_page(str(LIST_ID), None).records
    assert len(records) == 10

    several = records[0]  # three emails, the most probable in the middle
    assert several.email == "ada.novak.0@northwind.example"
    assert several.first_name == "Ada" and several.last_name == "Novak"
    assert several.signals == {"probability": 99, "verified": True}
    # A list entry is a summary (Snov.io's docs): the rest comes from the profile.
    assert several.needs_details is True
    assert (several.position, several.company_name, several.linkedin_url) == ("", "", "")
    before = fake.profile_requests
    client.fill_details(records)
    assert fake.profile_requests - before == 10
    assert several.position == "CEO"
    assert several.company_name == "Northwind Traders"
    assert several.website == several.company_domain == "https://northwind.example"
    assert several.linkedin_url == "https://www.linkedin.com/in/ada-novak-0"
    assert several.phone == "+1 512 555 0000"
    assert several.country_code == "US"  # Snov.io gives a country name
    assert several.industry == "Software"
    assert several.status_hint is None
    assert several.custom_attributes == {
        "other_emails": "anovak0@northwind.example, ada.novak.0@mail.example",
        "locality": "Austin",
        "Lead source": "Webinar",
        "Seats": "0",
    }

    name_only = records[4]
    assert (name_only.first_name, name_only.last_name) == ("Elena", "Novak")

    no_email = records[9]
    assert no_email.email == "" and no_email.signals == {}
    assert no_email.vendor_id == fake.prospects(LIST_ID)[9]["id"]

    unverified = records[1]
    assert unverified.signals == {"probability": 51}


def test_odd_prospects_are_parsed_defensively(fake, client):
    prospects = [
        {
            "id": 123,
            "name": "  Mary   Ann Smith ",
            "emails": [
                {"email": " MARY@Example.COM ", "probability": "87", "isVerified": 1},
                {"email": "m2@example.com", "probability": 87, "isVerified": False},
            ],
            "social": [
                {"type": "linkedIn", "link": "https://linkedin.com/in/mary"},
                {"type": "twitter", "link": "https://x.com/mary"},
                "junk",
            ],
            "customFields": [
                {"name": "Tier", "value": 2},
                {"label": "VIP", "value": True},
                {"name": "Empty", "value": None},
                {"name": "Tags", "value": ["a", "b"]},
                {"value": "nameless"},
            ],
            "country": "de",
            "phones": [{"phone": "+49 1"}, "+49 2", None],
            "currentJobs": [
                {
                    "position": "CFO",
                    "companyName": "Job Co",
                    "site": "jobco.example",
                    "size": "11-50",
                }
            ],
            "industry": "Retail",
        },
        {
            "id": "abc",
            "firstName": None,
            "lastName": ["x"],
            "emails": None,
            "social": None,
            "customFields": "nonsense",
            "phones": "+1 555",
        },
        {
            "id": "p3",
            "firstName": "Solo",
            "emails": [
                {"email": "a@x.io", "probability": None},
                {"email": "b@x.io", "probability": 130, "isVerified": None},
                {"email": None, "probability": 100},
                "c@x.io",
                17,
            ],
        },
        {"name": "no id at all"},
        "junk",
        None,
    ]
    fake.script(
        200,
        {"success": True, "list": {"contacts": "many"}, "prospects": prospects},
        path="prospect",
    )
    page = client.fetch_page(str(LIST_ID), None)
    assert page.total is None and page.next_checkpoint is None
    mary, bare, solo, *unreadable = page.records
    # The three that cannot be linked stay as records without an id (the importer fails each
    # with a reason) instead of vanishing.
    assert [record.vendor_id for record in unreadable] == ["", "", ""]

    assert mary.vendor_id == "123"
    assert mary.email == "mary@example.com"  # equal probabilities: the first wins
    assert mary.signals == {"probability": 87, "verified": True}
    assert (mary.first_name, mary.last_name) == ("Mary", "Ann Smith")
    assert mary.linkedin_url == "https://linkedin.com/in/mary"
    assert mary.country_code == "DE"
    assert mary.phone == "+49 1"
    assert (mary.position, mary.company_name, mary.website) == ("CFO", "Job Co", "jobco.example")
    assert (mary.industry, mary.size) == ("Retail", "11-50")
    assert mary.custom_attributes == {
        "other_emails": "m2@example.com",
        "phones": "+49 1, +49 2",
        "social_twitter": "https://x.com/mary",
        "Tier": "2",
        "VIP": "true",
        "Tags": '["a","b"]',
    }

    assert (bare.vendor_id, bare.email, bare.first_name, bare.last_name) == ("abc", "", "", "")
    assert bare.signals == {} and bare.phone == "+1 555"
    assert bare.custom_attributes == {}

    assert solo.email == "b@x.io"
    assert solo.signals == {"probability": 100}  # clamped; unknown verification left out
    assert (solo.first_name, solo.last_name) == ("Solo", "")
    assert solo.custom_attributes == {"other_emails": "a@x.io, c@x.io"}


def test_an_empty_prospects_array_ends_the_import(fake, client):
    fake.script(200, {"success": True, "prospects": []}, path="prospect")
    page = client.fetch_page(str(LIST_ID), {"page": 4})
    assert page.records == [] and page.next_checkpoint is None


@pytest.mark.parametrize(
    "body",
    [{"success": True, "prospects": None}, {"success": True}, {"prospects": {"0": {"id": "a"}}}],
)
def test_an_answer_without_a_prospects_array_is_garbled(fake, client, body):
    # Taken for an empty last page, it would end an import as a success with nothing read.
    fake.script(200, body, path="prospect")
    with pytest.raises(TransientError, match="no prospects array"):
        client.fetch_page(str(LIST_ID), {"page": 4})


def test_parse_prospect_rejects_what_cannot_be_linked():
    assert parse_prospect({"emails": [{"email": "x@y.io"}]}) is None
    assert parse_prospect({"id": "   "}) is None
    assert parse_prospect(["id"]) is None


# --- export ---------------------------------------------------------------------------------


def test_export_adds_then_updates_without_duplicating(fake, client):
    list_id = fake.add_list(CLIENT_ID, "Outbound")
    leads = [
        lead(
            1,
            " Jane@Example.com ",
            first_name="Jane",
            last_name="Doe",
            position="CTO",
            phone="+1 555 0100",
            linkedin_url="https://www.linkedin.com/in/jane",
            company_name="Example Inc",
            company_domain="example.com",
            country_code="US",
            custom_attributes={"Tier": "gold", "bad[name]": "x", "blank": ""},
        ),
        lead(2, "joe@example.org", first_name="Joe", website="https://example.org"),
        lead(3, ""),
        lead(4, "not-an-email"),
    ]

    fake.custom_fields[CLIENT_ID] = ["tier"]  # the account's own field; matched ignoring case
    first = client.export_batch({"list_id": str(list_id)}, leads)

    assert [(o.lead_id, o.ok, o.created, o.vendor_id) for o in first] == [
        (1, True, True, None),
        (2, True, True, None),
        (3, False, False, None),
        (4, False, False, None),
    ]
    assert first[2].detail == "no email"
    assert "Email is invalid" in first[3].detail
    jane = fake.prospect_by_email(list_id, "jane@example.com")
    assert jane["firstName"] == "Jane" and jane["lastName"] == "Doe" and jane["name"] == "Jane Doe"
    assert jane["position"] == "CTO" and jane["companyName"] == "Example Inc"
    # A site in http(s):// form and a country name, as Snov.io takes them.
    assert jane["companySite"] == "https://example.com" and jane["country"] == "United States"
    assert jane["phones"] == ["+1 555 0100"]
    assert jane["social"] == {"linkedIn": "https://www.linkedin.com/in/jane"}
    # Only the account's custom fields are sent ("blank" is empty, "bad[name]" unknown).
    assert jane["customFields"] == {"tier": "gold"}
    assert fake.prospect_by_email(list_id, "joe@example.org")["companySite"] == (
        "https://example.org"
    )

    leads[0].position = "CEO"
    second = client.export_batch({"list_id": list_id}, leads[:2])

    assert [(o.ok, o.created) for o in second] == [(True, False), (True, False)]
    assert len(fake.prospects(list_id)) == 2
    assert fake.prospect_by_email(list_id, "jane@example.com")["position"] == "CEO"


def test_export_updates_a_seeded_prospect_in_place(fake, client):
    fake.seed(CLIENT_ID, LIST_ID, 30)
    outcome = client.export_batch(
        {"list_id": LIST_ID}, [lead(1, "Bruno.Novak.1@globex.example", position="COO")]
    )[0]
    assert outcome.ok and not outcome.created
    assert len(fake.prospects(LIST_ID)) == 30
    assert fake.prospects(LIST_ID)[1]["position"] == "COO"


def test_the_fake_refuses_a_duplicate_without_update_contact(fake, client):
    list_id = fake.add_list(CLIENT_ID, "Outbound")
    form = {"email": "dup@example.com", "listId": list_id}
    client.request("POST", "/v1/add-prospect-to-list", data=form)
    with pytest.raises(BadRequest) as caught:
        client.request("POST", "/v1/add-prospect-to-list", data=form)
    assert caught.value.status == 422 and DUPLICATE_MESSAGE in caught.value.message


def test_export_treats_the_duplicate_422_as_success_and_other_422s_as_failures(fake, client):
    list_id = fake.add_list(CLIENT_ID, "Outbound")
    fake.script(422, {"success": False, "errors": DUPLICATE_MESSAGE}, path="add-prospect")
    fake.script(422, {"success": False, "errors": {"email": ["Too long"]}}, path="add-prospect")
    fake.script(200, {"success": False, "errors": "Prospect is in the blacklist"}, path="add")
    outcomes = client.export_batch(
        {"list_id": list_id}, [lead(i, f"p{i}@example.com") for i in range(1, 5)]
    )
    assert [(o.ok, o.created) for o in outcomes] == [
        (True, False),
        (False, False),
        (False, False),
        (True, True),
    ]
    assert "email: Too long" in outcomes[1].detail
    assert "blacklist" in outcomes[2].detail


def test_export_needs_an_existing_list(fake, client):
    assert client.export_batch_size == 25
    with pytest.raises(BadRequest):
        client.export_batch({}, [lead(1, "a@example.com")])
    with pytest.raises(NotFound):
        client.export_batch({"list_id": "999"}, [lead(1, "a@example.com")])


def test_export_out_of_credits_stops_the_batch(fake, client):
    list_id = fake.add_list(CLIENT_ID, "Outbound")
    fake.script(200, {"success": False, "errors": "Not enough credits"}, path="add-prospect")
    with pytest.raises(QuotaExceeded):
        client.export_batch({"list_id": list_id}, [lead(1, "a@example.com")])


# --- error mapping --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "retryable"),
    [
        (402, {"success": False, "errors": "Payment required"}, QuotaExceeded, False),
        (403, {"success": False, "errors": "Forbidden"}, AuthError, False),
        (404, {"success": False, "errors": "Not found"}, NotFound, False),
        (422, {"success": False, "errors": "listId is invalid"}, BadRequest, False),
        (
            400,
            {"success": False, "errors": "You reached the limit of your plan"},
            QuotaExceeded,
            False,
        ),
        (
            200,
            {"success": False, "errors": "Not enough credits on your balance"},
            QuotaExceeded,
            False,
        ),
        (200, {"success": False, "errors": "Something odd"}, BadRequest, False),
        (200, {"success": False, "errors": "Rate limit exceeded"}, RateLimited, True),
        (500, {"success": False, "errors": "Internal error"}, TransientError, True),
        (503, None, TransientError, True),
    ],
)
def test_error_bodies_map_to_the_right_exception(fake, client, status, body, error, retryable):
    client.lists()  # get a token first, so the scripted answer hits the call under test
    fake.script(status, body, path=LISTS_PATH)
    with pytest.raises(error) as caught:
        client.lists()
    assert type(caught.value) is error
    assert caught.value.retryable is retryable
    assert caught.value.status == status


def test_429_carries_retry_after(fake, client):
    client.lists()
    fake.inject("429", path=LISTS_PATH)
    with pytest.raises(RateLimited) as caught:
        client.lists()
    assert caught.value.retryable and caught.value.retry_after == 1.0


@pytest.mark.parametrize("fault", ["500", "timeout", "drop", "garbage"])
def test_faults_are_transient(fake, client, fault):
    client.lists()
    fake.inject(fault, path=LISTS_PATH)
    with pytest.raises(TransientError) as caught:
        client.lists()
    assert caught.value.retryable
    assert CLIENT_SECRET not in str(caught.value)


# --- rate limit -----------------------------------------------------------------------------


def test_a_limiter_under_the_vendor_limit_never_gets_a_429(fake):
    fake.rate_limits = [(10, 1.0)]
    client = make_client(fake, limiter=RateLimiter([(8, 1.0)]))
    for _ in range(20):
        client.lists()
    assert fake.violations == 0


def test_without_a_limiter_a_burst_gets_429s(fake, client):
    fake.rate_limits = [(10, 1.0)]
    with pytest.raises(RateLimited):
        for _ in range(20):
            client.lists()
    assert fake.violations > 0


def test_the_default_limit_is_snovios_60_per_minute():
    assert FakeSnovio.rate_limits == [(60, 60.0)]


# --- the fake at benchmark scale ------------------------------------------------------------


def test_seeding_and_paging_100k_prospects_is_fast(fake, client):
    started = time.monotonic()
    fake.seed(CLIENT_ID, LIST_ID, 100_000)
    last = client.fetch_page(str(LIST_ID), {"page": 1000})
    assert len(last.records) == 100 and last.total == 100_000
    assert client.fetch_page(str(LIST_ID), {"page": 1001}).next_checkpoint is None
    outcome = client.export_batch({"list_id": LIST_ID}, [lead(1, "tara.rossi.99999@wayne.x")])
    assert outcome[0].created  # not a seeded address: added at the end
    assert time.monotonic() - started < 3.0


def test_seeding_is_deterministic():
    one, two = FakeSnovio(), FakeSnovio()
    one.seed("a", 1, 50)
    two.seed("a", 1, 50)
    assert one.prospects(1) == two.prospects(1)


# --- issue 12: profiles, the account's custom fields, country names -------------------------


def test_fill_details_keeps_a_prospect_snovio_no_longer_has(fake, client):
    fake.seed(CLIENT_ID, LIST_ID, 2)
    records = client.fetch_page(str(LIST_ID), None).records
    records[1].vendor_id = "f" * 64  # gone since the list was read
    client.fill_details(records)
    assert records[0].company_name == "Northwind Traders"
    assert records[1].company_name == "" and records[1].first_name == "Bruno"


def test_without_full_profiles_no_profile_is_asked_for(fake):
    fake.seed(CLIENT_ID, LIST_ID, 3)
    quick = make_client(fake, full_profiles=False)
    records = quick.fetch_page(str(LIST_ID), None).records
    assert not any(record.needs_details for record in records)


def test_export_sends_only_the_accounts_custom_fields(fake, client):
    list_id = fake.add_list(CLIENT_ID, "Export")
    outcomes = client.export_batch(
        {"list_id": str(list_id)},
        [
            lead(1, "a@example.com", custom_attributes={"lead SOURCE": "Fair", "twitter": "@a",
                                                        "favorite_color": "teal"}),
            lead(2, "b@example.com", country_code="ZZ", custom_attributes={"seats": "4"}),
        ],
    )  # fmt: skip
    assert [o.ok for o in outcomes] == [True, True]
    assert fake.prospect_by_email(list_id, "a@example.com")["customFields"] == {
        "Lead source": "Fair"
    }
    b = fake.prospect_by_email(list_id, "b@example.com")
    assert b["customFields"] == {"Seats": "4"} and "country" not in b


def test_custom_field_map_sends_an_attribute_to_a_named_field(fake):
    list_id = fake.add_list(CLIENT_ID, "Export")
    mapped = make_client(fake, custom_field_map={"source_channel": "Lead source"})
    [outcome] = mapped.export_batch(
        {"list_id": str(list_id)},
        [lead(1, "a@example.com", custom_attributes={"source_channel": "Ads"})],
    )
    assert outcome.ok
    assert fake.prospect_by_email(list_id, "a@example.com")["customFields"] == {
        "Lead source": "Ads"
    }


def test_a_refused_field_fails_that_record_only_and_names_it(fake, client):
    list_id = fake.add_list(CLIENT_ID, "Export")
    fake.script(400, {"success": False, "errors": "Custom field 'Seats' is invalid"},
                path="/v1/add-prospect-to-list")  # fmt: skip
    outcomes = client.export_batch(
        {"list_id": str(list_id)}, [lead(1, "a@example.com"), lead(2, "b@example.com")]
    )
    assert (outcomes[0].ok, outcomes[1].ok) == (False, True)
    assert "Seats" in outcomes[0].detail and "Snov.io refused it" in outcomes[0].detail


def test_country_names_both_ways():
    from integrations.snovio.client import country_code, country_name

    assert [country_name(c) for c in ("US", "GB", "VN", "KR", "de", "ZZ", "")] == [
        "United States", "United Kingdom", "Vietnam", "South Korea", "Germany", "", "",
    ]  # fmt: skip
    assert [country_code(n) for n in ("United States", "Viet Nam", "south korea", "Atlantis")] == [
        "US", "VN", "KR", "",
    ]  # fmt: skip
