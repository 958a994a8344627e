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
