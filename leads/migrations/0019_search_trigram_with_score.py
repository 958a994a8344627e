"""On PostgreSQL, the score joins the owner and the status in the trigram index, keyed as a
one-element array (``ARRAY[score]``, array_ops) so that a short score range is asked of the
index as the list of its scores with ``&&``, which GIN answers as one OR over their keys.

A search under a narrow score range listed every match of the term among the owner's leads
and dropped those outside the range after reading each row: score 95-100 + "rober" read
7,438 rows over 6,781 heap pages to keep 432 (18-20 ms of a 20 ms request at 1,000,000
leads). With the scores in the index the bitmap holds the 432, for 0.5 ms more of index.
A wide range is not asked of it (leads.list_sql.search_score_keys): eight keys of a tenth
of the leads each cost the bitmap more (15 ms) than the rows they spare. As with the status
(0016), GIN keeps each column's keys apart, so a search that names no score reads the index
as it read 0016's. Building it over 1,000,000 leads took 11 s here. Nothing on SQLite.
"""

from django.db import migrations

from leads.migrations._postgresql import lead_index_replaced


class Migration(migrations.Migration):
    dependencies = [("leads", "0018_status_score_index")]

    operations = [
        lead_index_replaced(
            "lead_user_status_search_trgm",
            "gin (user_id, (status || ''), search_text gin_trgm_ops)",
            "lead_search_trgm_score",
            "gin (user_id, (status || ''), search_text gin_trgm_ops, (ARRAY[score]))",
        )
    ]
