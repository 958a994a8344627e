"""On PostgreSQL, the trigram index of 0004 keyed by user first (btree_gin), on PostgreSQL only.

A search runs for one user, but 0004's index holds every user's leads: a common term
("alva") matched ~10,000 rows across all users, which PostgreSQL fetched and then threw
away all but the user's ~1,000 of (16 ms at 1,000,000 leads). With user_id in the same GIN
index the bitmap is the intersection of both. btree_gin, like pg_trgm, is a trusted
extension. On SQLite this migration does nothing.
"""

from django.db import migrations

from leads.migrations._postgresql import on_postgresql

OLD = "lead_search_trgm"
NEW = "lead_user_search_trgm"

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    f"CREATE INDEX IF NOT EXISTS {NEW} ON leads_lead USING gin (user_id, search_text gin_trgm_ops)",
    f"DROP INDEX IF EXISTS {OLD}",
]
BACKWARD = [
    f"CREATE INDEX IF NOT EXISTS {OLD} ON leads_lead USING gin (search_text gin_trgm_ops)",
    f"DROP INDEX IF EXISTS {NEW}",
]


class Migration(migrations.Migration):
    dependencies = [("leads", "0004_search_trigram_postgresql")]

    operations = [migrations.RunPython(on_postgresql(FORWARD), on_postgresql(BACKWARD))]
