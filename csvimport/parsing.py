"""Reading an uploaded CSV: decode, sniff the delimiter, parse, and guess the column mapping.

Pure functions on text; nothing here touches the database.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from leads.models import Status

MAX_BYTES = 10 * 1024 * 1024  # settings.FILE_UPLOAD_MAX_BYTES stops bigger ones mid-upload
MAX_ROWS = 100_000
# Columns in a file (a CRM export has a few dozen). Each row is mapped column by column, and
# a million-column file kept a worker busy for hours.
MAX_COLUMNS = 200
PREVIEW_ROWS = 5
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}

IGNORE = "ignore"
CUSTOM_PREFIX = "custom:"
# What a column can be mapped to, in the order the mapping <select> offers them.
FIELD_LABELS = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "company": "Company name",
    "company_domain": "Company domain",
    "position": "Position",
    "phone": "Phone",
    "linkedin_url": "LinkedIn URL",
    "source": "Source",
    "status": "Status",
    "score": "Score",
    "notes": "Notes",
    "created_at": "Creation date",
    "deal_value": "Deal value",
    "expected_close_date": "Expected close date",
}
# Header spellings (lower-case letters and digits only) that mean each field.
SYNONYMS = {
    "email": ["email", "emailaddress", "mail", "workemail", "businessemail"],
    "first_name": ["firstname", "first", "givenname", "forename", "prenom"],
    "last_name": ["lastname", "last", "surname", "familyname", "nom"],
    "company": ["company", "companyname", "organization", "organisation", "account", "employer"],
    "company_domain": ["companydomain", "domain", "website", "companywebsite", "web", "url"],
    "position": ["position", "jobtitle", "title", "role", "job"],
    "phone": ["phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone"],
    "linkedin_url": ["linkedinurl", "linkedin", "linkedinprofile", "linkedinprofileurl"],
    "source": ["source", "leadsource"],
    "status": ["status", "leadstatus", "stage"],
    "score": ["score", "leadscore", "rating"],
    "notes": ["notes", "note", "comments", "comment", "description"],
    "created_at": [
        "createdate", "created", "createdat", "datecreated", "creationdate", "createddate",
        "createdon", "dateadded", "createtime", "createdtime",
    ],
    "deal_value": [
        "dealvalue", "amount", "dealamount", "dealsize", "value", "opportunityamount",
        "expectedrevenue", "revenue",
    ],
    "expected_close_date": ["expectedclosedate", "closedate", "expectedclose", "closingdate"],
}  # fmt: skip
_FIELD_BY_KEY = {key: field for field, keys in SYNONYMS.items() for key in keys}
# Columns of our own CSV export that must not come back in: the database owns them. (Its
# created_at does come back, as the creation date of the leads the import creates.)
_IGNORED_KEYS = {"id", "updatedat"}
MAX_CUSTOM_KEY = 100


class CsvFileError(ValueError):
    """The file cannot be imported; the message says why in plain words."""


@dataclass(frozen=True)
class ParsedFile:
    text: str
    delimiter: str
    headers: list[str]
    total_rows: int
    note: str = ""


def decode(raw: bytes) -> tuple[str, str]:
    """The bytes as text and a note for the user when the encoding was guessed."""
    if not raw.strip():
        raise CsvFileError("The file is empty.")
    if b"\x00" in raw[:65536]:
        raise CsvFileError(
            "This does not look like a CSV file: it contains binary data. "
            "Save it from your spreadsheet as “CSV UTF-8”."
        )
    try:
        return raw.decode("utf-8-sig"), ""
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise CsvFileError(
            "The file is neither UTF-8 nor Windows-1252 text. Save it as “CSV UTF-8” and retry."
        )
    return text, "The file is not UTF-8: it was read as Windows-1252. Check accented letters."


def sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab, judged on the first lines."""
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        pass
    # The sniffer gives up on irregular files: fall back to the most frequent in the header.
    first_line = sample.split("\n", 1)[0]
    counts = {d: first_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def iter_rows(text: str, delimiter: str) -> Iterator[list[str]]:
    """Every non-blank record, header first. Raises CsvFileError on malformed input."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                yield row
    except csv.Error as exc:
        raise CsvFileError(f"Line {reader.line_num} could not be read as CSV: {exc}.")


def size_text(size: int) -> str:
    """A file size for people: ``10 MB``, ``1.5 MB``, ``900 KB`` or ``10 bytes``."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def too_big_message(size: int) -> str:
    over, limit = size_text(size), size_text(MAX_BYTES)
    if over == limit:  # just over: rounded, the two would read the same
        over, limit = f"{size:,} bytes", f"{MAX_BYTES:,} bytes"
    return f"The file is {over}; the limit is {limit}. Split it in parts."


def parse(raw: bytes) -> ParsedFile:
    """Check a whole upload: readable, a header and at least one row, within the limits."""
    if len(raw) > MAX_BYTES:
        raise CsvFileError(too_big_message(len(raw)))
    text, note = decode(raw)
    delimiter = sniff_delimiter(text)
    rows = iter_rows(text, delimiter)
    header = next(rows, None)
    if header is None:
        raise CsvFileError("The file is empty.")
    if len(header) > MAX_COLUMNS:
        raise CsvFileError(
            f"The file has {len(header):,} columns; the limit is {MAX_COLUMNS}. "
            "Remove the columns you do not need."
        )
    total = 0
    for row in rows:
        total += 1
        if len(row) > MAX_COLUMNS:
            raise CsvFileError(
                f"Row {total + 1} has {len(row):,} cells; the limit is {MAX_COLUMNS} "
                "(the header has "
                f"{len(header)})."
            )
        if total > MAX_ROWS:
            raise CsvFileError(
                f"The file has more than {MAX_ROWS:,} rows. Split it into smaller files."
            )
    if total == 0:
        raise CsvFileError("The file has a header row but no data rows.")
    headers = [cell.strip() or f"Column {i + 1}" for i, cell in enumerate(header)]
    return ParsedFile(text=text, delimiter=delimiter, headers=headers, total_rows=total, note=note)


def preview_rows(text: str, delimiter: str, width: int, limit: int = PREVIEW_ROWS) -> list:
    rows = iter_rows(text, delimiter)
    next(rows, None)
    preview = []
    for row in rows:
        preview.append([*row[:width], *[""] * (width - len(row))])
        if len(preview) >= limit:
            break
    return preview


def header_key(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", header.lower())


def custom_field(header: str) -> str:
    return CUSTOM_PREFIX + header.strip()[:MAX_CUSTOM_KEY]


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """A field for each column from its header; unknown headers are kept as custom attributes."""
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for index, header in enumerate(headers):
        key = header_key(header)
        field = _FIELD_BY_KEY.get(key)
        if header.strip().startswith(CUSTOM_PREFIX) and header.strip()[len(CUSTOM_PREFIX) :]:
            # Our own export names custom attributes "custom:<name>".
            field = custom_field(header.strip()[len(CUSTOM_PREFIX) :])
            if field in taken:
                field = IGNORE
        elif key in _IGNORED_KEYS or not key:
            field = IGNORE
        elif field is None or field in taken:
            field = custom_field(header)
            if field in taken:
                field = IGNORE
        taken.add(field)
        mapping[str(index)] = field
    return mapping


def mapped_columns(mapping: dict[str, str]) -> list[tuple[int, str]]:
    """(column index, field) of the columns that go somewhere: the only ones a row reads."""
    return [(int(index), field) for index, field in mapping.items() if field != IGNORE]


def validate_mapping(mapping: dict[str, str], width: int) -> tuple[dict[str, str], list[str]]:
    """Errors per column index ({"3": "…"}) and for the whole mapping."""
    column_errors: dict[str, str] = {}
    errors: list[str] = []
    first_column: dict[str, int] = {}
    for index in range(width):
        field = mapping.get(str(index), IGNORE)
        if field == IGNORE:
            continue
        if field.startswith(CUSTOM_PREFIX):
            if not field[len(CUSTOM_PREFIX) :].strip():
                column_errors[str(index)] = "A custom attribute needs a name."
                continue
        elif field not in FIELD_LABELS:
            column_errors[str(index)] = "Choose one of the listed fields."
            continue
        if field in first_column:
            label = field_label(field)
            column_errors[str(index)] = (
                f"{label} is already chosen for column {first_column[field] + 1}."
            )
        else:
            first_column[field] = index
    if not {"email", "first_name", "last_name", "company", "company_domain"} & set(first_column):
        errors.append(
            "Map at least one column to Email, First name, Last name, Company name "
            "or Company domain."
        )
    return column_errors, errors


def field_label(field: str) -> str:
    if field.startswith(CUSTOM_PREFIX):
        return f"Custom attribute “{field[len(CUSTOM_PREFIX) :]}”"
    return FIELD_LABELS.get(field, field)


# --- status values --------------------------------------------------------------------------

# What a status value can be mapped to, besides a pipeline status: "keep the lead's status".
STATUS_IGNORE = IGNORE
# The value list on the preview: the most frequent values, each with a chooser.
STATUS_VALUES_SHOWN = 50
# Other CRMs' lead statuses and lifecycle stages (lower-case letters and digits only) that
# plainly mean one of ours. HubSpot's own first: New, Open, In Progress, Open Deal, Unqualified,
# Attempted to contact, Connected, Bad Timing.
_STATUS_SYNONYMS = {
    Status.NEW: ["new", "open", "newlead", "notcontacted", "notstarted", "untouched", "fresh",
                 "subscriber", "lead"],
    Status.CONTACTED: ["contacted", "attemptedtocontact", "attempted", "inprogress", "connected",
                       "working", "workingcontacted", "followup", "followingup", "engaged",
                       "reachedout", "replied", "responded", "nurturing", "nurture"],
    Status.QUALIFIED: ["qualified", "opendeal", "opportunity", "salesqualifiedlead", "sql",
                       "meetingbooked", "meetingscheduled", "demoscheduled", "proposal",
                       "proposalsent", "negotiation", "interested"],
    Status.CONVERTED: ["converted", "customer", "closedwon", "won", "dealwon", "client",
                       "signed", "evangelist"],
    Status.LOST: ["lost", "closedlost", "unqualified", "disqualified", "badtiming", "dead",
                  "junk", "notinterested", "deallost", "rejected", "churned"],
}  # fmt: skip
_STATUS_BY_KEY = {key: str(status) for status, keys in _STATUS_SYNONYMS.items() for key in keys}


def status_key(value: str) -> str:
    """How the values of a status column are grouped: trimmed, spaces collapsed, any case."""
    return " ".join(value.split()).casefold()


def guess_status(value: str) -> str | None:
    """The pipeline status a value plainly means (``Open`` → new, ``Closed Won`` →
    converted), or None when it is not plain."""
    return _STATUS_BY_KEY.get(header_key(value))


@dataclass(frozen=True)
class StatusRules:
    """What each value of a status column becomes: a pipeline status, ``ignore`` (the lead
    keeps its status; a new one starts as new) or "" (nobody chose: the row is rejected).

    ``values`` holds the choices made on the preview, by ``status_key``. A value not among
    them gets its guess, else ``other`` (the choice for values too rare to be listed).
    """

    values: Mapping[str, str] = field(default_factory=dict)
    other: str = ""

    def resolve(self, value: str) -> str:
        chosen = self.values.get(status_key(value))
        if chosen is not None:
            return chosen
        return guess_status(value) or self.other

    def to_json(self) -> dict:
        return {"values": dict(self.values), "other": self.other}

    @classmethod
    def from_json(cls, data: object) -> StatusRules:
        if not isinstance(data, dict):
            return cls()
        values = data.get("values")
        other = data.get("other")
        return cls(
            values={str(k): str(v) for k, v in values.items()} if isinstance(values, dict) else {},
            other=other if isinstance(other, str) else "",
        )


_STATUSES = frozenset(Status.values)


def status_choice_valid(choice: str) -> bool:
    return choice == "" or choice == STATUS_IGNORE or choice in _STATUSES


@dataclass
class ValueCount:
    key: str  # status_key
    value: str  # as first written in the file (trimmed)
    rows: int
    guess: str | None


def count_values(values: Iterable[str]) -> tuple[list[ValueCount], int]:
    """The distinct non-empty values (grouped by ``status_key``), most frequent first (ties in
    file order), and how many values were empty."""
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    empty = 0
    for raw in values:
        value = raw.strip()
        if not value:
            empty += 1
            continue
        key = status_key(value)
        if key not in first:
            first[key] = " ".join(value.split())
        counts[key] += 1
    order = {key: i for i, key in enumerate(first)}
    ranked = sorted(counts, key=lambda key: (-counts[key], order[key]))
    return [
        ValueCount(key=key, value=first[key], rows=counts[key], guess=guess_status(first[key]))
        for key in ranked
    ], empty


def column_cells(text: str, delimiter: str, indexes: Iterable[int]) -> dict[int, list[str]]:
    """Every data row's cell in each of some columns ("" where a row is shorter), read in
    one pass over the file."""
    cells: dict[int, list[str]] = {index: [] for index in indexes}
    if not cells:
        return cells
    rows = iter_rows(text, delimiter)
    next(rows, None)
    for row in rows:
        width = len(row)
        for index, column in cells.items():
            column.append(row[index] if index < width else "")
    return cells


# --- dates --------------------------------------------------------------------------------------

DATE_ORDERS = {"dmy": "day/month/year", "mdy": "month/day/year"}
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:$|[ T])")
_SLASHED = re.compile(
    r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})"
    r"(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*([AaPp][Mm])?)?"
)
DATE_EXAMPLES = "2024-03-01, 2024-03-01 14:05, 2024-03-01T14:05:00Z or 01/03/2024"


class DateRejected(ValueError):
    """The value is no date this import can read; the message says why. ``ambiguous``: it
    is a date, but could be read day or month first and no order was chosen."""

    def __init__(self, message: str, *, ambiguous: bool = False) -> None:
        super().__init__(message)
        self.ambiguous = ambiguous


def _slashed_parts(value: str) -> tuple[int, int] | None:
    match = _SLASHED.fullmatch(value)
    return (int(match.group(1)), int(match.group(2))) if match else None


def is_ambiguous(value: str) -> bool:
    """``03/04/2024``: could be 3 April or 4 March."""
    parts = _slashed_parts(value.strip())
    return parts is not None and parts[0] != parts[1] and parts[0] <= 12 and parts[1] <= 12


_MONEY_NOISE = re.compile(r"[\s$€£¥₹'\u00a0\u202f]|[A-Za-z]{3}$|^[A-Za-z]{3}")
MONEY_MAX = Decimal("999999999999.99")


def parse_money(value: str) -> Decimal:
    """An amount from a cell: ``12500``, ``12,500.50``, ``$12,500``, ``12.500,50 €``,
    ``USD 900``. Raises ValueError naming what is wrong (negative, too large, unreadable)."""
    text = _MONEY_NOISE.sub("", value.strip())
    if "," in text and "." in text:
        # The last of the two separates the decimals; the other groups thousands.
        thousands = "." if text.rfind(",") > text.rfind(".") else ","
        text = text.replace(thousands, "").replace(",", ".")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = head.replace(",", "") + ("." if len(tail) <= 2 and "," not in head else "") + tail
    try:
        amount = Decimal(text)
    except ArithmeticError:
        raise ValueError(f"“{value.strip()}” is not an amount (write it like 12500.50).") from None
    if not amount.is_finite():
        raise ValueError(f"“{value.strip()}” is not an amount (write it like 12500.50).")
    if amount < 0:
        raise ValueError(f"“{value.strip()}” is negative; a deal value is 0 or more.")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"“{value.strip()}” has more than two decimals.")
    if amount > MONEY_MAX:
        raise ValueError(f"“{value.strip()}” is larger than {MONEY_MAX:,}.")
    return amount.quantize(Decimal("0.01"))


def parse_date(value: str, *, order: str, tz: dt.tzinfo) -> dt.datetime:
    """A creation date or time from a cell, as an aware datetime.

    ISO dates and times (``2024-03-01``, ``2024-03-01 14:05``, ``2024-03-01T14:05:00Z``, with
    or without an offset) and ``01/03/2024`` style dates (``/``, ``.`` or ``-``, optionally
    with a time and AM/PM) read in ``order`` ("dmy" or "mdy"; "" when none was chosen, which
    only the values that can be read one way survive). A time without an offset, and a date
    without a time (midnight: a calendar day), are in ``tz``.
    """
    text = value.strip()
    if _ISO_DATE.match(text):
        try:
            moment = dt.datetime.fromisoformat(text)
        except ValueError:
            raise DateRejected(f"“{text}” is not a date (write it like {DATE_EXAMPLES}).")
    else:
        match = _SLASHED.fullmatch(text)
        if match is None:
            raise DateRejected(f"“{text}” is not a date (write it like {DATE_EXAMPLES}).")
        first, second, year = int(match.group(1)), int(match.group(2)), int(match.group(3))
        if not order:
            if first > 12:
                order = "dmy"
            elif second > 12 or first == second:
                order = "mdy"
            else:
                raise DateRejected(
                    f"“{text}” could be day/month or month/day: choose how to read the dates.",
                    ambiguous=True,
                )
        day, month = (first, second) if order == "dmy" else (second, first)
        hour, minute = int(match.group(4) or 0), int(match.group(5) or 0)
        second_of_minute = int(match.group(6) or 0)
        meridiem = (match.group(7) or "").lower()
        if meridiem:
            if not 1 <= hour <= 12:
                raise DateRejected(f"“{text}” has an hour that is not 1 to 12 before AM/PM.")
            hour = hour % 12 + (12 if meridiem == "pm" else 0)
        try:
            moment = dt.datetime(year, month, day, hour, minute, second_of_minute)
        except ValueError:
            raise DateRejected(
                f"“{text}” is not a valid {DATE_ORDERS.get(order, order)} date."
            ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment


@dataclass
class DateProfile:
    """How a column's ``01/03/2024`` style dates read, judged on all of them."""

    slashed: int = 0  # values written day and month with separators
    ambiguous: int = 0  # ... of which could be read either way
    day_first_example: str = ""  # a value whose first part is over 12 (so: day first)
    month_first_example: str = ""  # a value whose second part is over 12
    ambiguous_example: str = ""
    detected: str = ""  # "dmy", "mdy", or "" when the values do not tell
    first_value: str = ""  # the column's first non-empty value, to show how it reads


def date_profile(values: Iterable[str]) -> DateProfile:
    profile = DateProfile()
    day_first = month_first = 0
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        if not profile.first_value:
            profile.first_value = value
        parts = _slashed_parts(value)
        if parts is None:
            continue
        profile.slashed += 1
        first, second = parts
        if first > 12 and second <= 12:
            day_first += 1
            profile.day_first_example = profile.day_first_example or value
        elif second > 12 and first <= 12:
            month_first += 1
            profile.month_first_example = profile.month_first_example or value
        elif first != second and first <= 12:
            profile.ambiguous += 1
            profile.ambiguous_example = profile.ambiguous_example or value
    if day_first > month_first:
        profile.detected = "dmy"
    elif month_first > day_first:
        profile.detected = "mdy"
    return profile
