"""Database upkeep for the embedded SQLite defaults."""

import sqlite3

from django.db import connection


def optimize_database() -> None:
    """Refresh planner statistics: SQLite's plans for the list filters depend on them."""
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA optimize")
    elif connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE leads_lead")


def prune_broker(broker_url: str) -> int:
    """Delete delivered messages, which kombu's SQLAlchemy transport keeps forever."""
    path = broker_url.removeprefix("sqla+sqlite:///")
    if path == broker_url:
        return 0
    try:
        db = sqlite3.connect(path, timeout=30)
    except sqlite3.Error:
        return 0
    try:
        with db:
            cursor = db.execute("DELETE FROM kombu_message WHERE visible = 0")
            return cursor.rowcount
    except sqlite3.OperationalError:  # table not created yet: nothing was ever queued
        return 0
    finally:
        db.close()
