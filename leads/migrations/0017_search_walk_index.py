"""On SQLite, an index of the columns a search's walk tests, keyed by the lead id.

A search walks the trigram index's matches newest first and looks each one up among the
leads (leads.list_sql). Each look-up read the whole row to test the owner, the status, the
score or the company, so when few matches pass those filters every match of the term was
read: "rober" under the rare status "converted" with a score of 95-100 passes 42 of its
14,800 matches at 1,000,000 leads, and the walk read all 14,800 rows (25 ms). Looked up in
this index, a match that fails them costs no row read: 13 ms. Other walks that reject
most matches gain as much ("son" and "myer" under the same filters 13 -> 5.5 and 14 -> 7 ms);
a long term, whose trigram look-up alone costs 7 ms, gains little. The id comes first, so
the look-up is the walk's own join on the id; no other statement has the id alone to seek
by, and the list's other statements kept their times with and without planner statistics
(bench_filters, every combination).

Building it over 1,000,000 leads took under a second here. On PostgreSQL this migration
does nothing: its search does not walk the ids this way (leads.list_sql).
"""

from django.db import migrations

from leads.migrations._postgresql import sqlite_lead_index

INDEX = "lead_search_walk"


class Migration(migrations.Migration):
    dependencies = [("leads", "0016_search_trigram_with_status")]

    operations = [
        sqlite_lead_index(INDEX, '("id", "user_id", "status", "score", "company_id")')
    ]
