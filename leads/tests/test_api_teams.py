"""The API of teams (api.md "Teams, roles and assignment"): /v1/me, /v1/users, the user_id
filter, stats by user and the history's kind.

The world: team Sales (manager Mia, reps Rita and Ray, and Dan, a rep since deactivated),
team Other (rep Otto), and Nina, who belongs to no team.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leads import selectors
from leads.models import Lead, Role, Team, TeamMembership
from leads.tests.conftest import ApiClient
from leads.tests.factories import CompanyFactory, UserFactory, make_lead

pytestmark = pytest.mark.django_db

MISSING = 10**9  # a user id nobody has
STATUSES = ["new", "contacted", "qualified", "converted", "lost"]


def _member(user, team: Team, role: str = Role.REP):
    TeamMembership.objects.create(user=user, team=team, role=role)
    return user


def _leads(user, statuses: list[str], domain: str) -> list[Lead]:
    company = CompanyFactory(user=user, name=f"{user.username} Co", domain=domain)
    return [make_lead(user=user, company=company, status=status) for status in statuses]


@pytest.fixture
def world(db):
    sales = Team.objects.create(name="Sales")
    other = Team.objects.create(name="Other")
    mia = _member(
        UserFactory(username="mia", first_name="Mia", email="mia@crm.example"), sales, Role.MANAGER
    )
    rita = _member(UserFactory(username="rita", first_name="Rita"), sales)
    ray = _member(UserFactory(username="ray"), sales)
    dan = _member(UserFactory(username="dan"), sales)
    otto = _member(UserFactory(username="otto"), other)
    nina = UserFactory(username="nina")
    leads = {
        "mia": _leads(mia, ["new"], "mia.example"),
        "rita": _leads(rita, ["new", "contacted", "converted", "lost"], "rita.example"),
        "ray": _leads(ray, ["qualified", "qualified"], "ray.example"),
        "dan": _leads(dan, ["new", "lost"], "dan.example"),
        "otto": _leads(otto, ["new", "new"], "otto.example"),
        "nina": _leads(nina, ["contacted"], "nina.example"),
    }
    dan.is_active = False
    dan.save(update_fields=["is_active"])
    users = {"mia": mia, "rita": rita, "ray": ray, "dan": dan, "otto": otto, "nina": nina}
    return {
        "sales": sales,
        "users": users,
        "leads": leads,
        "api": {name: ApiClient(user) for name, user in users.items() if name != "dan"},
    }


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["data"]]


def _lead_ids(world, *names: str) -> set[int]:
    return {lead.pk for name in names for lead in world["leads"][name]}


# --- GET /v1/me -------------------------------------------------------------------------------


def test_me_says_who_you_are_your_role_and_your_team(world):
    sales = world["sales"]
    body = world["api"]["mia"].get("/v1/me").json()
    assert body == {
        "id": world["users"]["mia"].pk,
        "username": "mia",
        "first_name": "Mia",
        "last_name": "",
        "email": "mia@crm.example",
        "role": "manager",
        "team": {"id": sales.pk, "name": "Sales"},
    }
    rita = world["api"]["rita"].get("/v1/me").json()
    assert (rita["role"], rita["team"]) == ("rep", {"id": sales.pk, "name": "Sales"})
    nina = world["api"]["nina"].get("/v1/me").json()
    assert (nina["username"], nina["role"], nina["team"]) == ("nina", None, None)


def test_me_is_one_query_and_refuses_parameters(world):
    with CaptureQueriesContext(connection) as ctx:
        selectors.user_me(user=world["users"]["rita"])
    assert len(ctx.captured_queries) == 1
    response = world["api"]["rita"].get("/v1/me", {"bogus": "1"})
    assert response.status_code == 400
    assert "bogus" in response.json()


# --- GET /v1/users ----------------------------------------------------------------------------


def test_a_rep_and_a_user_without_a_team_see_only_themselves(world):
    for name in ("rita", "otto", "nina"):
        body = world["api"][name].get("/v1/users").json()
        assert [row["username"] for row in body["data"]] == [name]
        assert body["next_cursor"] is None


def test_a_manager_sees_every_member_inactive_ones_included_with_open_leads(world):
    users = world["users"]
    body = world["api"]["mia"].get("/v1/users").json()
    rows = {row["username"]: row for row in body["data"]}
    assert set(rows) == {"mia", "rita", "ray", "dan"}  # never Otto (another team) or Nina
    assert [row["id"] for row in body["data"]] == sorted(
        (u.pk for n, u in users.items() if n in rows), reverse=True
    )
    assert rows["dan"]["is_active"] is False
    assert rows["rita"] == {
        "id": users["rita"].pk,
        "username": "rita",
        "first_name": "Rita",
        "last_name": "",
        "email": "",
        "role": "rep",
        "is_active": True,
        "open_leads": 2,  # new and contacted; converted and lost are closed
    }
    assert {n: r["open_leads"] for n, r in rows.items()} == {
        "mia": 1,
        "rita": 2,
        "ray": 2,
        "dan": 1,
    }
    assert rows["mia"]["role"] == "manager"


def test_users_pages_by_keyset_and_validates_its_parameters(world):
    api = world["api"]["mia"]
    seen, cursor = [], None
    while True:
        params = {"limit": "3", **({"cursor": str(cursor)} if cursor else {})}
        body = api.get("/v1/users", params).json()
        assert len(body["data"]) <= 3
        seen += [row["id"] for row in body["data"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == _ids(api.get("/v1/users"))
    assert len(seen) == 4
    for params in [{"limit": "0"}, {"limit": "201"}, {"cursor": "x"}, {"role": "rep"}]:
        response = api.get("/v1/users", params)
        assert response.status_code == 400, params
        assert next(iter(params)) in response.json()


def test_users_count_open_leads_in_the_pages_own_query(world):
    """One query for the page whatever the number of members (no query per user)."""
    with CaptureQueriesContext(connection) as ctx:
        page = selectors.user_list(user=world["users"]["mia"], cursor=None, limit=50)
    small = len(ctx.captured_queries)
    assert len(page.data) == 4
    for i in range(5):
        newcomer = _member(UserFactory(username=f"new{i}"), world["sales"])
        _leads(newcomer, ["new", "contacted", "lost"], f"new{i}.example")
    # As the sign-in loads a user: with the membership.
    users = UserFactory._meta.model.objects.select_related("crm_membership")
    manager = users.get(pk=world["users"]["mia"].pk)
    with CaptureQueriesContext(connection) as ctx:
        page = selectors.user_list(user=manager, cursor=None, limit=50)
    assert len(page.data) == 9
    assert {row["open_leads"] for row in page.data if row["username"].startswith("new")} == {2}
    # The manager's scope (the team's members) is read once; the page is one query.
    assert small == len(ctx.captured_queries) == 2
    # Through the API: the same number of queries for 4 and for 9 members.
    api = world["api"]["mia"]
    api.get("/v1/users")  # the token's last use is written once
    with CaptureQueriesContext(connection) as ctx:
        assert len(_ids(api.get("/v1/users"))) == 9
    assert len(ctx.captured_queries) == 3  # the token with its user, the scope, the page


# --- user_id on the lists and the stats -------------------------------------------------------


def test_a_manager_filters_leads_companies_and_stats_by_a_member(world):
    api = world["api"]["mia"]
    rita = world["users"]["rita"]
    assert set(_ids(api.get("/v1/leads"))) == _lead_ids(world, "mia", "rita", "ray", "dan")
    assert set(_ids(api.get("/v1/leads", {"user_id": rita.pk}))) == _lead_ids(world, "rita")
    companies = _ids(api.get("/v1/companies", {"user_id": rita.pk}))
    assert companies == [world["leads"]["rita"][0].company_id]
    stats = api.get("/v1/leads/stats", {"user_id": rita.pk}).json()
    assert stats["total"] == 4
    assert stats["by_status"] == {
        "new": 1,
        "contacted": 1,
        "qualified": 0,
        "converted": 1,
        "lost": 1,
    }
    # With the other filters too.
    filtered = api.get("/v1/leads", {"user_id": rita.pk, "status": "lost"})
    assert set(_ids(filtered)) == {world["leads"]["rita"][3].pk}


def test_a_deactivated_members_leads_stay_visible_to_the_manager(world):
    api = world["api"]["mia"]
    dan = world["users"]["dan"]
    assert set(_ids(api.get("/v1/leads", {"user_id": dan.pk}))) == _lead_ids(world, "dan")
    assert api.get("/v1/leads/stats", {"user_id": dan.pk}).json()["total"] == 2
    for lead in world["leads"]["dan"]:
        assert api.get(f"/v1/leads/{lead.pk}").status_code == 200


def test_a_rep_may_name_only_themselves(world):
    api = world["api"]["rita"]
    rita = world["users"]["rita"]
    assert set(_ids(api.get("/v1/leads", {"user_id": rita.pk}))) == _lead_ids(world, "rita")
    assert api.get("/v1/companies", {"user_id": rita.pk}).status_code == 200
    assert api.get("/v1/leads/stats", {"user_id": rita.pk}).json()["total"] == 4


@pytest.mark.parametrize(
    ("caller", "named"),
    [
        ("rita", "ray"),  # a teammate
        ("rita", "mia"),  # her own manager
        ("mia", "otto"),  # another team's rep
        ("mia", "nina"),  # someone in no team
        ("nina", "rita"),
    ],
)
@pytest.mark.parametrize("path", ["/v1/leads", "/v1/leads/stats", "/v1/companies"])
def test_a_user_outside_the_scope_is_the_400_of_a_user_that_does_not_exist(
    world, caller, named, path
):
    api = world["api"][caller]
    theirs = api.get(path, {"user_id": world["users"][named].pk})
    nobody = api.get(path, {"user_id": MISSING})
    assert theirs.status_code == 400
    assert list(theirs.json()) == ["user_id"]
    # Byte for byte: the answer never tells whether that user exists.
    assert theirs.content == nobody.content


@pytest.mark.parametrize("path", ["/v1/leads", "/v1/leads/stats", "/v1/companies"])
@pytest.mark.parametrize("value", ["abc", "1.5", "0", "-3", str(2**70)])
def test_a_user_id_that_is_not_an_id_is_a_400_on_user_id(world, path, value):
    response = world["api"]["mia"].get(path, {"user_id": value})
    assert response.status_code == 400
    assert list(response.json()) == ["user_id"]


# --- GET /v1/leads/stats?group_by=user --------------------------------------------------------


def _counts(*statuses: str) -> dict:
    return {"total": len(statuses), "by_status": {s: statuses.count(s) for s in STATUSES}}


def test_stats_by_user_cover_the_managers_scope(world):
    users = world["users"]
    body = world["api"]["mia"].get("/v1/leads/stats", {"group_by": "user"}).json()
    assert body["by_user"] == {
        str(users["mia"].pk): _counts("new"),
        str(users["rita"].pk): _counts("new", "contacted", "converted", "lost"),
        str(users["ray"].pk): _counts("qualified", "qualified"),
        str(users["dan"].pk): _counts("new", "lost"),
    }
    assert body["total"] == sum(entry["total"] for entry in body["by_user"].values()) == 9


def test_stats_by_user_take_the_same_filters(world):
    users = world["users"]
    api = world["api"]["mia"]
    body = api.get("/v1/leads/stats", {"group_by": "user", "status": "new"}).json()
    assert {k: v["total"] for k, v in body["by_user"].items()} == {
        str(users["mia"].pk): 1,
        str(users["rita"].pk): 1,
        str(users["ray"].pk): 0,  # in the scope: there, with nothing
        str(users["dan"].pk): 1,
    }
    one = api.get("/v1/leads/stats", {"group_by": "user", "user_id": users["ray"].pk}).json()
    assert one["by_user"] == {str(users["ray"].pk): _counts("qualified", "qualified")}
    assert one["total"] == 2


def test_stats_by_user_for_a_rep_are_their_own(world):
    rita = world["users"]["rita"]
    body = world["api"]["rita"].get("/v1/leads/stats", {"group_by": "user"}).json()
    assert body["by_user"] == {str(rita.pk): _counts("new", "contacted", "converted", "lost")}


def test_stats_without_group_by_have_no_by_user_and_other_groupings_are_a_400(world):
    api = world["api"]["mia"]
    assert "by_user" not in api.get("/v1/leads/stats").json()
    for value in ["status", "USER", "users", "company"]:
        response = api.get("/v1/leads/stats", {"group_by": value})
        assert response.status_code == 400, value
        assert list(response.json()) == ["group_by"]
    # Only the stats group: the list has no such parameter.
    assert api.get("/v1/leads", {"group_by": "user"}).status_code == 400


def test_stats_by_user_cost_a_bounded_number_of_queries(world):
    api = world["api"]["mia"]
    api.get("/v1/leads/stats")

    def queries(params: dict) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert api.get("/v1/leads/stats", params).status_code == 200
        return len(ctx.captured_queries)

    plain = queries({})
    grouped = queries({"group_by": "user"})
    # Unfiltered, the figures per owner and status are one read of the tally.
    assert grouped == plain
    filtered = queries({"group_by": "user", "min_score": 0})
    sqlite = connection.vendor == "sqlite"
    for i in range(4):
        _leads(_member(UserFactory(username=f"more{i}"), world["sales"]), ["new"], f"m{i}.example")
    assert queries({"group_by": "user"}) == grouped
    # Filtered by a range, SQLite counts a manager's team one owner at a time (one pass of
    # the lead_counts index each: counts and values), which gives the per-owner figures for
    # free; PostgreSQL groups in one query.
    assert queries({"group_by": "user", "min_score": 0}) == (filtered + 4 if sqlite else filtered)
    assert len(api.get("/v1/leads/stats", {"group_by": "user"}).json()["by_user"]) == 8


def test_stats_with_ranges_and_user_id_agree_with_the_list(world):
    """Score and date ranges are counted from the lead_counts index on SQLite (the owner is
    its expression user_id + 0): the same counts as the list finds."""
    api = world["api"]["mia"]
    rita = world["users"]["rita"]
    Lead.objects.filter(user=rita, status="converted").update(score=90)
    for params in [
        {"user_id": rita.pk, "min_score": "50"},
        {"user_id": rita.pk, "created_after": "2000-01-01", "max_score": "10"},
        {"user_id": world["users"]["ray"].pk, "created_before": "9999-12-30"},
    ]:
        with CaptureQueriesContext(connection) as ctx:
            body = api.get("/v1/leads/stats", params).json()
        sqls = [q["sql"] for q in ctx.captured_queries]
        expected = dict.fromkeys(STATUSES, 0)
        for row in api.get("/v1/leads", params).json()["data"]:
            expected[row["status"]] += 1
        assert body["by_status"] == expected, params
        assert body["total"] == sum(expected.values()) > 0, params
        if connection.vendor == "sqlite" and ("min_score" in params or "max_score" in params):
            [counted] = [sql for sql in sqls if 'INDEXED BY "lead_counts"' in sql]
            # The owner as the index holds it (user_id + 0), so the index answers alone.
            assert f'(l."user_id" + 0) = {params["user_id"]}' in counted, counted
        elif "min_score" not in params and "max_score" not in params:
            # A window that leaves out none of the leads is no filter: the tally answers.
            assert any("leads_leadtally" in sql for sql in sqls), sqls


def test_an_exports_user_id_is_checked_like_the_lists(world):
    from integrations import services

    integration = services.integration_create(
        user=world["users"]["rita"],
        provider="hunter",
        credentials={"api_key": "k" * 20},
        settings={},
    )
    api = world["api"]["rita"]
    url = f"/v1/integrations/{integration.pk}/export"
    theirs = api.post(url, {"user_id": world["users"]["ray"].pk})
    nobody = api.post(url, {"user_id": MISSING})
    assert theirs.status_code == 400
    assert list(theirs.json()) == ["user_id"]
    assert theirs.content == nobody.content
    assert api.post(url, {"user_id": world["users"]["rita"].pk}).status_code == 202


# --- History ----------------------------------------------------------------------------------


def test_history_entries_say_their_kind(world):
    api = world["api"]["rita"]
    lead = world["leads"]["rita"][0]
    assert api.patch(f"/v1/leads/{lead.pk}", {"status": "qualified"}).status_code == 200
    entries = api.get(f"/v1/leads/{lead.pk}/history").json()["data"]
    assert [e["kind"] for e in entries] == ["status", "status"]
    assert [(e["from_status"], e["to_status"]) for e in entries] == [
        ("new", "qualified"),
        (None, "new"),
    ]
    # The manager reads the member's history; another rep of the team gets the missing 404.
    assert world["api"]["mia"].get(f"/v1/leads/{lead.pk}/history").status_code == 200
    theirs = world["api"]["ray"].get(f"/v1/leads/{lead.pk}/history")
    nobody = world["api"]["ray"].get(f"/v1/leads/{MISSING}/history")
    assert theirs.status_code == 404
    assert theirs.content == nobody.content
