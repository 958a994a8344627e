"""Issue 15 item 2 below the browser: guessing status values, reading creation dates, the
forecast of rejected rows, and the preview form with and without JavaScript."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from csvimport import forecast, parsing
from csvimport.models import CsvImport
from csvimport.services import RowRejected, RowRules, parse_row
from csvimport.tasks import run_csv_import
from csvimport.tests.conftest import make_import
from csvimport.tests.hubspot import hubspot_csv
from leads.models import Lead
from leads.tests.factories import make_lead

PARIS = zoneinfo.ZoneInfo("Europe/Paris")


# --- guessing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "status"),
    [
        ("NEW", "new"), ("Qualified", "qualified"), ("lost", "lost"),
        ("Open", "new"), ("Attempted to contact", "contacted"), ("In Progress", "contacted"),
        ("in-progress", "contacted"), ("Connected", "contacted"), ("Open Deal", "qualified"),
        ("Unqualified", "lost"), ("Bad Timing", "lost"), ("Customer", "converted"),
        ("Closed Won", "converted"), ("closed_won", "converted"), ("Won", "converted"),
        ("Closed Lost", "lost"), ("VIP follow-up", None), ("", None),
    ],
)  # fmt: skip
def test_status_values_are_guessed_when_plain(value, status):
    assert parsing.guess_status(value) == status


def test_hubspot_headers_are_guessed_and_our_created_at_comes_back():
    mapping = parsing.guess_mapping(hubspot_csv().splitlines()[0].split(","))
    assert (mapping["6"], mapping["7"]) == ("status", "created_at")
    for header in ["Create Date", "Created", "Created at", "Date created", "Creation date"]:
        assert parsing.guess_mapping(["Email", header])["1"] == "created_at", header


def test_values_are_counted_trimmed_in_any_case_most_frequent_first():
    counted, empty = parsing.count_values([" Open", "open ", "New", "", "OPEN", "In  Progress"])
    assert [(v.value, v.rows, v.guess) for v in counted] == [
        ("Open", 3, "new"),
        ("New", 1, "new"),
        ("In Progress", 1, "contacted"),
    ]
    assert empty == 1


def test_status_rules_choice_then_guess_then_the_choice_for_other_values():
    rules = parsing.StatusRules(values={"open": "qualified", "vip": "ignore"}, other="lost")
    assert [rules.resolve(v) for v in ["OPEN", "Vip", "Connected", "Weird"]] == [
        "qualified",
        "ignore",
        "contacted",
        "lost",
    ]
    assert parsing.StatusRules().resolve("Weird") == ""
    assert parsing.StatusRules.from_json(rules.to_json()) == rules
    assert parsing.StatusRules.from_json("junk") == parsing.StatusRules()


# --- dates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "order", "expected"),
    [
        ("2024-03-01", "", dt.datetime(2024, 3, 1, tzinfo=PARIS)),
        ("2024-03-01 14:05", "", dt.datetime(2024, 3, 1, 14, 5, tzinfo=PARIS)),
        ("2024-03-01T14:05:00Z", "", dt.datetime(2024, 3, 1, 14, 5, tzinfo=dt.UTC)),
        ("2024-03-01T14:05:00.5+02:00", "", dt.datetime(2024, 3, 1, 12, 5, 0, 500000, dt.UTC)),
        ("25/03/2024", "", dt.datetime(2024, 3, 25, tzinfo=PARIS)),
        ("03/25/2024", "", dt.datetime(2024, 3, 25, tzinfo=PARIS)),
        ("03/04/2024", "dmy", dt.datetime(2024, 4, 3, tzinfo=PARIS)),
        ("03/04/2024", "mdy", dt.datetime(2024, 3, 4, tzinfo=PARIS)),
        ("3.4.2024 2:05 PM", "mdy", dt.datetime(2024, 3, 4, 14, 5, tzinfo=PARIS)),
    ],
)
def test_dates_read_iso_and_day_month_in_the_chosen_order(text, order, expected):
    assert parsing.parse_date(text, order=order, tz=PARIS) == expected


@pytest.mark.parametrize(
    ("text", "order", "message", "ambiguous"),
    [
        ("03/04/2024", "", "could be day/month or month/day", True),
        ("03/25/2024", "dmy", "is not a valid day/month/year date", False),
        ("2024-02-30", "", "is not a date", False),
        ("yesterday", "", "is not a date", False),
        ("1/2/24", "dmy", "is not a date", False),
    ],
)
def test_unreadable_and_ambiguous_dates_say_why(text, order, message, ambiguous):
    with pytest.raises(parsing.DateRejected, match=message) as caught:
        parsing.parse_date(text, order=order, tz=PARIS)
    assert caught.value.ambiguous is ambiguous


def test_the_order_is_detected_from_values_over_12():
    assert parsing.date_profile(["03/04/2024", "25/03/2024", "01/02/2024"]).detected == "dmy"
    assert parsing.date_profile(["03/25/2024", "", "03/04/2024"]).detected == "mdy"
    profile = parsing.date_profile(["03/04/2024", "2024-01-01", "05/05/2024"])
    assert (profile.detected, profile.slashed, profile.ambiguous) == ("", 2, 1)
    assert profile.ambiguous_example == "03/04/2024"


def test_parse_row_applies_the_rules_and_rejects_with_a_reason_and_a_group():
    mapping = {"0": "email", "1": "status", "2": "created_at"}
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    rules = RowRules(
        statuses=parsing.StatusRules(values={"vip": "qualified", "hold": "ignore"}),
        date_order="dmy",
        tz=dt.UTC,
        now=now,
    )
    parsed = parse_row(["a@x.io", "VIP", "03/04/2024"], mapping, rules=rules)
    assert parsed.lead == {
        "email": "a@x.io",
        "status": "qualified",
        "created_at": dt.datetime(2024, 4, 3, tzinfo=dt.UTC),
    }
    assert "status" not in parse_row(["a@x.io", "hold", ""], mapping, rules=rules).lead
    for cells, reason, group in [
        (["a@x.io", "Weird"], "Status “Weird” is not one of", "Status “weird” has no pipeline"),
        (["a@x.io", "", "2026-01-01"], "is in the future", "Creation date is in the future"),
        (["a@x.io", "", "soon"], "Creation date “soon” is not a date", "Creation date is not"),
    ]:
        with pytest.raises(RowRejected, match=reason) as caught:
            parse_row(cells, mapping, rules=rules)
        assert caught.value.group.startswith(group)


# --- the forecast --------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_forecast_counts_what_the_job_then_rejects(user):
    make_lead(user=user, email="ben@acme.com")
    text = hubspot_csv() + "1999,Ann,Again,ann@acme.com,,,New,2024-03-01,,,,,,,\n"
    csv_import = make_import(user, text, mode="create")
    rules = RowRules.of_import(csv_import)
    told = forecast.forecast(
        csv_import=csv_import, mapping=csv_import.mapping, mode="create", rules=rules
    )
    assert (told.total_rows, told.rejected, told.exists_counted) == (13, 5, True)
    assert [(r.reason, r.rows, r.examples) for r in told.reasons] == [
        ("Status “vip follow-up” has no pipeline status chosen", 2, [10, 11]),
        ("A lead with the email already exists", 1, [3]),
        ("Email is not a valid address", 1, [12]),
        ("The email is on an earlier row of the file", 1, [14]),
    ]
    upsert = forecast.forecast(
        csv_import=csv_import, mapping=csv_import.mapping, mode="upsert", rules=rules
    )
    assert (upsert.rejected, upsert.exists_counted) == (3, False)

    assert run_csv_import(csv_import.pk) == "partial"
    csv_import.refresh_from_db()
    assert csv_import.rejected == told.rejected
    rejected_rows = sorted(csv_import.rejections.values_list("row_number", flat=True))
    assert rejected_rows == sorted(n for r in told.reasons for n in r.examples)


@pytest.mark.django_db
def test_the_job_applies_the_chosen_values_and_dates_only_to_new_leads(user):
    existing = make_lead(user=user, email="ann@acme.com", status="qualified")
    created_at = existing.created_at
    csv_import = make_import(user, hubspot_csv(), mode="upsert")
    CsvImport.objects.filter(pk=csv_import.pk).update(
        status_values=parsing.StatusRules(
            values={"vip follow-up": "converted", "open": "ignore"}
        ).to_json()
    )
    assert run_csv_import(csv_import.pk) == "partial"  # kim@acme
    leads = {lead.first_name: lead for lead in Lead.objects.filter(user=user)}
    assert (leads["Ivy"].status, leads["Ben"].status, leads["Cho"].status) == (
        "converted",
        "new",
        "contacted",
    )
    assert leads["Ivy"].created_at == dt.datetime(2024, 4, 2, 9, 0, tzinfo=dt.UTC)
    existing.refresh_from_db()
    assert existing.created_at == created_at and existing.status == "qualified"


# --- the preview form ----------------------------------------------------------------------


def _upload(web, text: str) -> CsvImport:
    from django.core.files.uploadedfile import SimpleUploadedFile

    web.post("/leads/import/", {"file": SimpleUploadedFile("h.csv", text.encode(), "text/csv")})
    return CsvImport.objects.latest("id")


def _form(csv_import: CsvImport, **extra) -> dict:
    return {f"col-{i}": v for i, v in csv_import.mapping.items()} | {"mode": "create"} | extra


@pytest.mark.django_db
def test_the_preview_lists_values_dates_and_the_forecast(web, user):
    csv_import = _upload(web, hubspot_csv())
    html = web.get(f"/leads/import/{csv_import.pk}/").content.decode()
    assert 'for="status-choice-0">Pipeline status for “Open”' in html
    assert '<option value="qualified" selected>Qualified</option>' in html  # Open Deal
    assert "3 of 12 rows would be rejected" in html
    assert "reads as <strong>1 March 2024, 14:05</strong>" in html
    assert 'name="forecast-for" value="' in html


@pytest.mark.django_db
def test_mapping_a_column_to_status_without_javascript_shows_its_values_first(web, user):
    text = "Email,Stage\na@x.io,Open\nb@x.io,Weird\n"
    csv_import = _upload(web, text)
    url = f"/leads/import/{csv_import.pk}/"
    page = web.get(url).content.decode()
    assert csv_import.mapping["1"] == "status"  # "stage"
    assert "Statuses in the column “Stage”" in page
    # The user maps the column elsewhere and back through "Update preview": no start.
    plain = _form(csv_import, **{"col-1": "custom:Stage", "action": "preview"})
    response = web.post(url, plain)
    assert response.status_code == 200 and "Statuses in the column" not in response.content.decode()
    forecast_for = response.content.decode().split('name="forecast-for" value="')[1][:20]
    # Then maps it to Status and presses Start straight away: the values are shown first.
    response = web.post(url, _form(csv_import, **{"forecast-for": forecast_for}))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Column “Stage” is mapped to Status: choose what each of its values means" in html
    assert "1 of 2 rows would be rejected" in html
    csv_import.refresh_from_db()
    assert csv_import.state == "pending"
    # With a choice for "Weird" and the forecast made for it, Start starts.
    choice = {"status-column": "1", "status-key-0": "open", "status-choice-0": "new",
              "status-key-1": "weird", "status-choice-1": "lost", "action": "preview"}  # fmt: skip
    html = web.post(url, _form(csv_import, **choice)).content.decode()
    assert "No row would be rejected" in html
    forecast_for = html.split('name="forecast-for" value="')[1][:20]
    choice |= {"action": "start", "forecast-for": forecast_for}
    response = web.post(url, _form(csv_import, **choice))
    assert response.status_code == 302
    csv_import.refresh_from_db()
    assert csv_import.status_values == {"values": {"open": "new", "weird": "lost"}, "other": ""}


@pytest.mark.django_db
def test_htmx_changes_re_render_without_starting_and_a_bad_choice_is_no_500(web, user):
    csv_import = _upload(web, "Email,Created\na@x.io,03/04/2024\nb@x.io,05/06/2024\n")
    url = f"/leads/import/{csv_import.pk}/"
    html = web.get(url).content.decode()
    assert "No date in the file tells day and month apart" in html
    assert "2 of 2 rows would be rejected" in html
    data = _form(csv_import, **{"date-column": "1", "date-order": "dmy"})
    response = web.post(url, data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "No row would be rejected" in html and "reads as <strong>3 April 2024</strong>" in html
    assert CsvImport.objects.get(pk=csv_import.pk).state == "pending"
    bad = _form(csv_import, **{"date-column": "1", "date-order": "ymd", "status-other": "x"})
    response = web.post(url, bad | {"action": "preview"})
    assert response.status_code == 200
    assert "2 of 2 rows would be rejected" in response.content.decode()
