"""A pg_trgm GIN index over leads_lead.search_text, on PostgreSQL only.

The counterpart of 0002's FTS5 trigram table on SQLite: `q` is a substring search
(``search_text LIKE '%term%'``), which a B-tree cannot serve, so without this index it reads
every lead of the user. PostgreSQL keeps a GIN index in step by itself, so no trigger is
needed. pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it
without being a superuser. On SQLite this migration does nothing.
"""

from django.db import migrations

from leads.migrations._postgresql import on_postgresql

INDEX = "lead_search_trgm"

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS {INDEX} ON leads_lead USING gin (search_text gin_trgm_ops)",
]
# The extension stays: other objects may use it by now.
DROP = [f"DROP INDEX IF EXISTS {INDEX}"]


class Migration(migrations.Migration):
    dependencies = [("leads", "0003_counts_index")]

    operations = [migrations.RunPython(on_postgresql(CREATE), on_postgresql(DROP))]
