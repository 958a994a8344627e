"""An FTS5 trigram index over leads_lead.search_text, on SQLite only.

`q` is a substring search; without an index it reads every lead of the user (about 140 ms
at 100,000 leads). The trigram index answers the same search in a few milliseconds. Triggers
keep it in step with every insert, update and delete, whichever code path writes. On
PostgreSQL this migration does nothing (a pg_trgm index is the counterpart there).
"""

from django.db import migrations

TABLE = "leads_lead_search"

CREATE = [
    f"CREATE VIRTUAL TABLE {TABLE} USING fts5("
    "search_text, content='leads_lead', content_rowid='id', tokenize='trigram')",
    f"INSERT INTO {TABLE}({TABLE}) VALUES ('rebuild')",
    f"CREATE TRIGGER {TABLE}_ai AFTER INSERT ON leads_lead BEGIN "
    f"INSERT INTO {TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
    f"CREATE TRIGGER {TABLE}_ad AFTER DELETE ON leads_lead BEGIN "
    f"INSERT INTO {TABLE}({TABLE}, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); END",
    f"CREATE TRIGGER {TABLE}_au AFTER UPDATE OF search_text ON leads_lead BEGIN "
    f"INSERT INTO {TABLE}({TABLE}, rowid, search_text) "
    "VALUES ('delete', old.id, old.search_text); "
    f"INSERT INTO {TABLE}(rowid, search_text) VALUES (new.id, new.search_text); END",
]
DROP = [
    f"DROP TRIGGER IF EXISTS {TABLE}_au",
    f"DROP TRIGGER IF EXISTS {TABLE}_ad",
    f"DROP TRIGGER IF EXISTS {TABLE}_ai",
    f"DROP TABLE IF EXISTS {TABLE}",
]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]

    operations = [migrations.RunPython(_run(CREATE), _run(DROP))]
