"""Rewrite every lead's search text as the full name (``first last``), email and company name,
folded (lower case, no accents): ``q=Alice Martin`` and ``q=emilie`` now find Alice Martin and
Émilie. Batches of 5,000 leads in id order, then SQLite's trigram index merged: 54 s + 5 s at
a million leads on SQLite (the index's triggers follow each row)."""

import unicodedata

from django.db import migrations, transaction

BATCH = 5_000
SEPARATOR = "\x1f"


# A frozen copy of leads.normalize.search_text as of this migration.
def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def search_text(*, first_name: str, last_name: str, email: str, company_name: str) -> str:
    full_name = " ".join(part for part in (first_name.strip(), last_name.strip()) if part)
    return SEPARATOR.join(_fold(part) for part in (full_name, email, company_name))


def rewrite(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    connection = schema_editor.connection
    table = connection.ops.quote_name(Lead._meta.db_table)
    last = 0
    while True:
        rows = list(
            Lead.objects.using(connection.alias)
            .filter(id__gt=last)
            .order_by("id")
            .values_list("id", "first_name", "last_name", "email", "company__name", "search_text")[
                :BATCH
            ]
        )
        if not rows:
            break
        last = rows[-1][0]
        changed = []
        for lead_id, first, last_name, email, company, stored in rows:
            text = search_text(
                first_name=first, last_name=last_name, email=email, company_name=company
            )
            if text != stored:
                changed.append((text, lead_id))
        if changed:
            # One transaction a batch (the migration is not atomic, for the VACUUM below).
            with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
                cursor.executemany(
                    f"UPDATE {table} SET search_text = %s WHERE id = %s",  # noqa: S608
                    changed,
                )
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # Rewriting every row leaves the trigram index in many small segments: a search
            # read 10 % slower until they were merged (5 s a million leads).
            cursor.execute("INSERT INTO leads_lead_search(leads_lead_search) VALUES('optimize')")
        elif connection.vendor == "postgresql" and connection.get_autocommit():
            # Every row has a dead copy now: until a vacuum, searches read both (47 % slower,
            # baseline included, at a million leads). VACUUM needs autocommit, hence
            # atomic = False below; each batch above commits on its own, and a rerun after an
            # interruption goes on from the rows that still differ.
            cursor.execute(f"VACUUM (ANALYZE) {table}")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("leads", "0006_delivery_facts")]

    operations = [migrations.RunPython(rewrite, migrations.RunPython.noop, elidable=True)]
