"""On SQLite, an index of each owner's leads by status and score, for a search under both.

A search walks the trigram index's matches newest first and tests each (0017). When the
status and the score range together pass few leads, every match of the term is walked to
find them: "rober" under the rare status "converted" with a score of 95-100 walks 14,800
matches to keep 42 (13 ms at 1,000,000 leads, 15-16 ms for the request). The status and
the range hold 2,971 leads there, which this index lists directly, each row then tested for
the term: 5 ms. leads.list_sql counts them here first, at most NARROW_SEARCH_SCORES, and
walks the term's matches when they are more.

Only the leads no longer in "new", where every lead starts, are in it: an import of new leads
(a CSV of 100,000 rows) writes nothing to it, where the whole index cost that import 10 %
(9,365-9,762 -> 8,144-9,186 rows/s here). "New" is the commonest status, so it and a score
range pass few leads only in an account small enough for the walk to be short anyway.

The owner is keyed as the expression ``user_id + 0``, which only those statements write (as
lead_counts does, 0003): keyed as the plain column, the planner could take it for a status
filter alone, which the (user, status, id) index serves in the page's order.

Building it over 1,000,000 leads took about a second here. On PostgreSQL this migration does
nothing: its search reads the status from the trigram index (0016).
"""

from django.db import migrations

from leads.migrations._postgresql import sqlite_lead_index

INDEX = "lead_status_score"


class Migration(migrations.Migration):
    dependencies = [("leads", "0017_search_walk_index")]

    operations = [
        sqlite_lead_index(INDEX, '(("user_id" + 0), "status", "score") WHERE "status" <> \'new\'')
    ]
