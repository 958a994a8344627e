"""The preview's choices beyond the column mapping: what each value of the Status column
means, and how the creation dates read; read from the form (or the saved import), and shown
with what the file holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.utils import timezone

from csvimport import forecast as forecasting
from csvimport import parsing
from csvimport.models import CsvImport
from csvimport.services import RowRules
from leads.models import Status

STATUS_CHOICES = [
    ("", "Not chosen: reject these rows"),
    *Status.choices,
    (parsing.STATUS_IGNORE, "Ignore: keep the lead's status (New for a new lead)"),
]


@dataclass
class StatusValue:
    index: int
    key: str
    value: str
    rows: int
    guess: str | None
    chosen: str


@dataclass
class StatusView:
    column: int
    header: str
    values: list[StatusValue]
    distinct: int  # distinct values in all
    more_values: int = 0  # values not listed ...
    more_rows: int = 0  # ... their rows
    more_guessed_rows: int = 0  # ... of which plainly name a status
    other: str = ""  # what the unlisted values without a guess become
    ask_other: bool = False  # some unlisted value has no guess
    empty_rows: int = 0
    unchosen_rows: int = 0  # rows whose value has no choice (rejected)


@dataclass
class DateView:
    column: int
    header: str
    order: str  # "dmy", "mdy" or "" (not chosen)
    profile: parsing.DateProfile
    choices: list[tuple[str, str]] = field(default_factory=list)  # empty: nothing to choose
    first_reading: str = ""


@dataclass
class Choices:
    statuses: parsing.StatusRules
    date_order: str
    status_view: StatusView | None = None
    date_view: DateView | None = None
    # Why the import did not start though asked to: a column newly mapped needs choices.
    changed_notice: str = ""


def _column_of(mapping: Mapping[str, str], target: str) -> int | None:
    indexes = [int(i) for i, field_name in mapping.items() if field_name == target]
    return min(indexes) if indexes else None


def _build(
    csv_import: CsvImport,
    mapping: Mapping[str, str],
    *,
    posted: Mapping[str, str] | None,
) -> Choices:
    """``posted`` is the form (None: the saved import). Choices posted for another column
    than the one now mapped are dropped: they were about other values."""
    status_column = _column_of(mapping, "status")
    date_column = _column_of(mapping, "created_at")
    wanted = [c for c in (status_column, date_column) if c is not None]
    cells = parsing.column_cells(csv_import.content, csv_import.delimiter, wanted)
    choices = Choices(statuses=parsing.StatusRules(), date_order="")
    notices = []
    if status_column is not None:
        header = csv_import.headers[status_column]
        if posted is None:
            statuses = parsing.StatusRules.from_json(csv_import.status_values)
        elif posted.get("status-column") == str(status_column):
            statuses = _posted_statuses(posted)
        else:
            statuses = parsing.StatusRules()
            notices.append(
                f"Column “{header}” is mapped to Status: choose what each of its values means "
                "below, then start the import."
            )
        choices.statuses = statuses
        choices.status_view = _status_view(status_column, header, cells[status_column], statuses)
    if date_column is not None:
        header = csv_import.headers[date_column]
        profile = parsing.date_profile(cells[date_column])
        if posted is None:
            order = csv_import.date_order or profile.detected
        elif posted.get("date-column") == str(date_column):
            order = posted.get("date-order", "")
        else:
            order = profile.detected
            if profile.slashed:
                notices.append(
                    f"Column “{header}” is mapped to Creation date: check how its dates read "
                    "below, then start the import."
                )
        choices.date_order = order if order in parsing.DATE_ORDERS else ""
        choices.date_view = _date_view(date_column, header, profile, choices.date_order)
    choices.changed_notice = " ".join(notices)
    return choices


def posted_choices(
    csv_import: CsvImport, mapping: Mapping[str, str], post: Mapping[str, str]
) -> Choices:
    return _build(csv_import, mapping, posted=post)


def saved_choices(csv_import: CsvImport, mapping: Mapping[str, str]) -> Choices:
    return _build(csv_import, mapping, posted=None)


def _posted_statuses(post: Mapping[str, str]) -> parsing.StatusRules:
    values: dict[str, str] = {}
    for i in range(parsing.STATUS_VALUES_SHOWN):
        key = post.get(f"status-key-{i}")
        if key is None:
            break
        choice = post.get(f"status-choice-{i}", "")
        values[key] = choice if parsing.status_choice_valid(choice) else ""
    other = post.get("status-other", "")
    return parsing.StatusRules(
        values=values, other=other if parsing.status_choice_valid(other) else ""
    )


def _status_view(
    column: int, header: str, cells: list[str], statuses: parsing.StatusRules
) -> StatusView:
    counted, empty = parsing.count_values(cells)
    shown, rest = counted[: parsing.STATUS_VALUES_SHOWN], counted[parsing.STATUS_VALUES_SHOWN :]
    view = StatusView(
        column=column,
        header=header,
        distinct=len(counted),
        values=[
            StatusValue(
                index=i,
                key=value.key,
                value=value.value,
                rows=value.rows,
                guess=value.guess,
                chosen=statuses.resolve(value.value),
            )
            for i, value in enumerate(shown)
        ],
        more_values=len(rest),
        more_rows=sum(value.rows for value in rest),
        more_guessed_rows=sum(value.rows for value in rest if value.guess),
        other=statuses.other,
        ask_other=any(value.guess is None for value in rest),
        empty_rows=empty,
    )
    view.unchosen_rows = sum(v.rows for v in view.values if not v.chosen) + (
        view.more_rows - view.more_guessed_rows if not statuses.other else 0
    )
    return view


def _reading(value: str, order: str) -> str:
    """How a creation date reads, in words: "1 March 2024, 14:05"."""
    try:
        moment = parsing.parse_date(value, order=order, tz=timezone.get_default_timezone())
    except parsing.DateRejected as exc:
        return str(exc)
    local = timezone.localtime(moment)
    text = f"{local.day} {local:%B %Y}"
    return f"{text}, {local:%H:%M}" if ":" in value else text


def _date_view(column: int, header: str, profile: parsing.DateProfile, order: str) -> DateView:
    view = DateView(column=column, header=header, order=order, profile=profile)
    if profile.first_value:
        view.first_reading = _reading(profile.first_value, order)
    if profile.slashed:
        example = profile.ambiguous_example or "03/04/2024"
        view.choices = [
            (key, f"{label}: {example} is {_reading(example, key)}")
            for key, label in parsing.DATE_ORDERS.items()
        ]
        if not profile.detected:
            view.choices.insert(0, ("", "Not chosen: reject the dates that read either way"))
    return view


def choices_digest(mapping: Mapping[str, str], mode: str, choices: Choices) -> str:
    """Names the choices a forecast was made for: the import starts only with those."""
    data = [dict(mapping), mode, choices.statuses.to_json(), choices.date_order]
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:20]


def forecast(
    *, csv_import: CsvImport, mapping: Mapping[str, str], mode: str, choices: Choices
) -> forecasting.Forecast:
    rules = RowRules.of(status_values=choices.statuses.to_json(), date_order=choices.date_order)
    return forecasting.forecast(csv_import=csv_import, mapping=mapping, mode=mode, rules=rules)
