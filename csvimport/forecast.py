"""What the preview tells before an import starts: the values of the Status column, how the
creation dates read, and how many rows the import would reject and why.

Nothing here writes. The forecast validates every row with the import job's own
``services.parse_row``, so it counts what the job will reject, for the same reasons.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from csvimport import parsing, selectors
from csvimport.models import CsvImport
from csvimport.services import RowRejected, RowRules, parse_row

# Row numbers named as examples for each reason, and reasons listed before "and N more".
EXAMPLE_ROWS = 5
REASONS_SHOWN = 12
# Emails looked up at once (one indexed query each) for the "already exists" rejections.
EXISTS_BATCH = 1_000
EXISTS_REASON = "A lead with the email already exists"
REPEAT_REASON = "The email is on an earlier row of the file"


@dataclass
class ReasonCount:
    reason: str
    rows: int = 0
    examples: list[int] = field(default_factory=list)  # row numbers as a spreadsheet shows them

    def add(self, row_number: int) -> None:
        self.rows += 1
        if len(self.examples) < EXAMPLE_ROWS:
            self.examples.append(row_number)

    @property
    def more_examples(self) -> bool:
        return self.rows > len(self.examples)


@dataclass
class Forecast:
    total_rows: int
    rejected: int = 0
    reasons: list[ReasonCount] = field(default_factory=list)  # the most rows first
    more_reasons: int = 0  # reasons beyond REASONS_SHOWN ...
    more_reasons_rows: int = 0  # ... and their rows
    # Create only: rows whose email one of the user's leads (or an earlier row) has are
    # counted. Rows without an email that match a lead by name are never counted.
    exists_counted: bool = False
    seconds: float = 0.0

    @property
    def imported(self) -> int:
        return self.total_rows - self.rejected


def forecast(
    *, csv_import: CsvImport, mapping: Mapping[str, str], mode: str, rules: RowRules
) -> Forecast:
    """Validate every row of the file as the job would, and count the rejections by reason."""
    started = time.perf_counter()
    columns = parsing.mapped_columns(dict(mapping))
    create_only = mode == CsvImport.Mode.CREATE
    reasons: dict[str, ReasonCount] = {}
    seen: set[str] = set()
    pending: list[tuple[int, str]] = []  # (row number, email) to look up

    def reject(reason: str, row_number: int) -> None:
        reasons.setdefault(reason, ReasonCount(reason)).add(row_number)

    def look_up() -> None:
        existing = selectors.lead_emails_existing(
            user_id=csv_import.user_id, emails={email for _, email in pending}
        )
        for row_number, email in pending:
            if email in existing:
                reject(EXISTS_REASON, row_number)
            elif email in seen:
                reject(REPEAT_REASON, row_number)
            else:
                seen.add(email)
        pending.clear()

    total = 0
    rows = parsing.iter_rows(csv_import.content, csv_import.delimiter)
    next(rows, None)
    for index, cells in enumerate(rows):
        total += 1
        try:
            parsed = parse_row(cells, mapping, columns, rules)
        except RowRejected as exc:
            reject(exc.group, index + 2)
            continue
        email = parsed.lead.get("email")
        if create_only and email:
            pending.append((index + 2, email))
            if len(pending) >= EXISTS_BATCH:
                look_up()
    if pending:
        look_up()
    ranked = sorted(reasons.values(), key=lambda r: (-r.rows, r.examples[0]))
    for reason in ranked:
        reason.examples.sort()
    shown, rest = ranked[:REASONS_SHOWN], ranked[REASONS_SHOWN:]
    return Forecast(
        total_rows=total,
        rejected=sum(r.rows for r in ranked),
        reasons=shown,
        more_reasons=len(rest),
        more_reasons_rows=sum(r.rows for r in rest),
        exists_counted=create_only,
        seconds=time.perf_counter() - started,
    )
