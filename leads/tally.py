"""Upkeep of LeadTally, the per-owner, per-status figures the database triggers keep."""

from __future__ import annotations

from django.db import connection, transaction

# Every row of a key folded into one; keys that sum to nothing (a deleted user's) dropped.
# The DELETE and the INSERT are one statement: a reader sees the rows before or after, and a
# writer's new rows, appended meanwhile, are not among those deleted.
_COMPACT_POSTGRESQL = """
    WITH gone AS (DELETE FROM leads_leadtally RETURNING user_id, status, n, cents)
    INSERT INTO leads_leadtally (user_id, status, n, cents)
    SELECT user_id, status, SUM(n), SUM(cents) FROM gone
    GROUP BY user_id, status
    HAVING SUM(n) <> 0 OR SUM(cents) <> 0
"""
_COMPACT_SQLITE = "DELETE FROM leads_leadtally WHERE n = 0 AND cents = 0"


def lead_tally_compact() -> None:
    """Fold the tally's rows: PostgreSQL's triggers append one per statement, so the rows of
    an owner grow with every write until this runs (hourly, from housekeeping). SQLite keeps
    one row per key already; there only the empty ones go."""
    postgresql = connection.vendor == "postgresql"
    sql = _COMPACT_POSTGRESQL if postgresql else _COMPACT_SQLITE
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)
    if postgresql and not connection.in_atomic_block:
        # Every row the fold replaced stays behind as a dead tuple until a VACUUM, and every
        # read of the tally visits them through its index: a load that wrote a million leads
        # one statement each left a million, and each searched list read them (once, or twice
        # with a status: 16-20 ms a request at 1,000,000 leads) until autovacuum came by.
        # The table holds a row per owner and status, so this takes milliseconds (0.17 s for
        # that million). VACUUM cannot run inside a transaction: a caller's is left to
        # autovacuum.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM leads_leadtally")
