"""Multi-row INSERT for the import's hot path.

``bulk_create`` spends most of its time preparing each value through the field machinery
(about 7 µs a value: 300,000 values for 10,000 imported leads). Here each column gets one
converter chosen once, and rows go out as one ``INSERT … VALUES (…), (…) RETURNING id``
per chunk. Works on SQLite (3.35+) and PostgreSQL; ids come back in insertion order, which
Django's own bulk_create relies on for both.

On PostgreSQL a chunk goes out as ``INSERT … SELECT * FROM unnest(%s::type[], …)``: one array
per column, so the statement has as many parameters as columns whatever the row count. With
one placeholder per value, psycopg re-parsed each 30,000-placeholder statement in Python
(its statement cache skips long ones): a third of a first import's time. Django's own
bulk_create on PostgreSQL takes the same road.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, models

# Rows SQLite's ANALYZE reads per index when statistics are refreshed after a bulk write (an
# import, a restore): enough to tell a selective index from a wide one, and milliseconds on a
# table of a million leads.
SQLITE_ANALYSIS_LIMIT = 2_000
_CHUNK_PARAMS = 30_000  # under SQLite's default limit of 32,766 variables per statement
_UNNEST_ROWS = 5_000  # rows per statement on PostgreSQL, which has no parameter limit to mind


def _converter(field: models.Field) -> Callable[[Any], Any]:
    if isinstance(field, models.DateTimeField):
        adapt = connection.ops.adapt_datetimefield_value
        last: list[Any] = [None, None]  # a page's rows mostly share one timestamp

        def convert(value: Any) -> Any:
            if value is None:
                return None
            if value is not last[0]:
                last[0], last[1] = value, adapt(value)
            return last[1]

        return convert
    if isinstance(field, models.JSONField):
        # A dict or a list goes straight to the backend's adapter, which is where
        # get_db_prep_save ends for them (three calls and an isinstance chain sooner: a third
        # of the cost of 200,000 values an import of 100,000 leads writes).
        adapt_json = connection.ops.adapt_json_value
        encoder = field.encoder

        def convert_json(value: Any) -> Any:
            if isinstance(value, dict | list):
                return adapt_json(value, encoder)
            return field.get_db_prep_save(value, connection)

        return convert_json
    if isinstance(field, models.DecimalField):
        money = connection.ops.adapt_decimalfield_value
        return lambda value: None if value is None else money(value)
    if isinstance(field, models.DateField):
        day = connection.ops.adapt_datefield_value
        return lambda value: None if value is None else day(value)
    return lambda value: value


def _concrete(field: Any) -> models.Field:
    if not isinstance(field, models.Field) or not field.column:
        raise TypeError(f"{field!r} is not a column")
    return field


def insert_rows(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning_ids: bool = False,
) -> list[int]:
    """Insert ``rows`` (values in ``columns`` order; attnames like ``user_id``)."""
    if not rows:
        return []
    meta = model._meta
    # get_field() also knows foreign keys by their attname (``user_id``); their raw ids pass.
    fields = [_concrete(meta.get_field(name)) for name in columns]
    converters = [_converter(field) for field in fields]
    quote = connection.ops.quote_name
    column_sql = ", ".join(quote(field.column) for field in fields)
    table = quote(meta.db_table)
    unnest = connection.vendor == "postgresql"
    if unnest:
        # The column types without their length (varchar, not varchar(254)), as Django does:
        # the columns themselves still check lengths.
        arrays = ", ".join(
            f"%s::{(field.db_type(connection) or '').split('(')[0]}[]" for field in fields
        )
        per_chunk = _UNNEST_ROWS
    else:
        placeholder = "(" + ", ".join(["%s"] * len(columns)) + ")"
        per_chunk = max(1, _CHUNK_PARAMS // len(columns))
    ids: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), per_chunk):
            chunk = rows[start : start + per_chunk]
            # Only table and column names from the model are spliced in; values are parameters.
            if unnest:
                # One list per column; strict zips refuse a row without one value per column.
                params: list[Any] = [
                    [convert(value) for value in values]
                    for convert, values in zip(converters, zip(*chunk, strict=True), strict=True)
                ]
                sql = f"INSERT INTO {table} ({column_sql}) SELECT * FROM unnest({arrays})"  # noqa: S608
            else:
                params = []
                for row in chunk:
                    params.extend(
                        convert(value) for convert, value in zip(converters, row, strict=True)
                    )
                sql = f"INSERT INTO {table} ({column_sql}) VALUES " + ", ".join(  # noqa: S608
                    [placeholder] * len(chunk)
                )
            if returning_ids:
                cursor.execute(sql + f" RETURNING {quote(meta.pk.column)}", params)
                ids.extend(row[0] for row in cursor.fetchall())
            else:
                cursor.execute(sql, params)
    return ids
