"""Reads for CSV imports, always filtered by the owner."""

from __future__ import annotations

from crm.errors import NotFound
from csvimport.models import CsvImport, CsvRejection
from leads.scope import Scope

REJECTIONS_PAGE = 100


def csv_import_get(*, user, import_id: int, with_content: bool = False) -> CsvImport:
    """The user's import; another user's answers 404 exactly like a missing one."""
    queryset = Scope.of(user).own(CsvImport).filter(pk=import_id)
    if not with_content:
        queryset = queryset.defer("content")
    csv_import = queryset.first()
    if csv_import is None:
        raise NotFound("import")
    return csv_import


def csv_import_recent(*, user, limit: int = 10) -> list[CsvImport]:
    return list(
        Scope.of(user)
        .own(CsvImport)
        .only(
            "id",
            "filename",
            "state",
            "total_rows",
            "processed",
            "created",
            "updated",
            "rejected",
            "created_at",
        )
        .order_by("-id")[:limit]
    )


def csv_rejection_page(
    *, csv_import: CsvImport, after: int = 0, limit: int = REJECTIONS_PAGE
) -> tuple[list[CsvRejection], int | None]:
    """One keyset page of an import's rejected rows, and the cursor of the next page."""
    rows = list(
        CsvRejection.objects.filter(csv_import=csv_import, id__gt=after).order_by("id")[: limit + 1]
    )
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].pk
    return rows, None


def same_file_imported(*, csv_import: CsvImport) -> CsvImport | None:
    """The user's latest earlier import of a file with the same content that ran (or runs)."""
    if not csv_import.content_digest:
        return None
    return (
        Scope.of_user_id(csv_import.user_id)
        .own(CsvImport)
        .filter(content_digest=csv_import.content_digest)
        .exclude(pk=csv_import.pk)
        .exclude(state=CsvImport.State.PENDING)
        .only("id", "filename", "created_at", "state", "created", "updated")
        .order_by("-id")
        .first()
    )


def csv_rejections_all(*, csv_import: CsvImport, batch: int = 2_000):
    """Every rejected row of an import, in keyset batches (for the download)."""
    after = 0
    while True:
        rows = list(
            CsvRejection.objects.filter(csv_import=csv_import, id__gt=after)
            .order_by("id")
            .values_list("id", "row_number", "values", "reason")[:batch]
        )
        if not rows:
            return
        yield from rows
        after = rows[-1][0]


def lead_emails_existing(*, user_id: int, emails: set[str]) -> set[str]:
    """Which of ``emails`` (normalised) the leads in the user's scope already have (a
    manager's import finds the team's, as the import itself does): one indexed look-up."""
    if not emails:
        return set()
    return set(
        Scope.of_person(user_id)
        .leads()
        .filter(email__in=emails)
        .exclude(email="")
        .values_list("email", flat=True)
    )
