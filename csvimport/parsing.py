"""Reading an uploaded CSV: decode, sniff the delimiter, parse, and guess the column mapping.

Pure functions on text; nothing here touches the database.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass

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
}
_FIELD_BY_KEY = {key: field for field, keys in SYNONYMS.items() for key in keys}
# Columns of our own CSV export that must not come back in: the database owns them.
_IGNORED_KEYS = {"id", "createdat", "updatedat"}
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
