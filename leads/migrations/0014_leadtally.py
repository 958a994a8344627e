"""Counts and deal values per owner and status, kept by triggers (see leads.models.LeadTally)."""

from django.db import migrations, models

CENTS_SQLITE = "COALESCE(CAST(ROUND({row}.deal_value * 100) AS INTEGER), 0)"


def _sqlite_add(row: str, sign: str) -> str:
    cents = CENTS_SQLITE.format(row=row)
    return (
        "INSERT INTO leads_leadtally (user_id, status, n, cents) "
        f"VALUES ({row}.user_id, {row}.status, {sign}1, {sign}{cents}) "
        "ON CONFLICT (user_id, status) DO UPDATE "
        "SET n = n + excluded.n, cents = cents + excluded.cents;"
    )


SQLITE = [
    "CREATE TABLE leads_leadtally (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, "
    "user_id integer NOT NULL, status varchar(16) NOT NULL, n bigint NOT NULL, "
    "cents bigint NOT NULL)",
    "CREATE UNIQUE INDEX leadtally_owner_status ON leads_leadtally (user_id, status)",
    f"CREATE TRIGGER lead_tally_insert AFTER INSERT ON leads_lead BEGIN {_sqlite_add('NEW', '')} END",
    f"CREATE TRIGGER lead_tally_delete AFTER DELETE ON leads_lead BEGIN {_sqlite_add('OLD', '-')} END",
    "CREATE TRIGGER lead_tally_update AFTER UPDATE OF user_id, status, deal_value ON leads_lead "
    "WHEN OLD.user_id IS NOT NEW.user_id OR OLD.status IS NOT NEW.status "
    "OR OLD.deal_value IS NOT NEW.deal_value "
    f"BEGIN {_sqlite_add('OLD', '-')} {_sqlite_add('NEW', '')} END",
]
SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS lead_tally_insert",
    "DROP TRIGGER IF EXISTS lead_tally_delete",
    "DROP TRIGGER IF EXISTS lead_tally_update",
    "DROP TABLE IF EXISTS leads_leadtally",
]

CENTS_PG = "COALESCE(ROUND(deal_value * 100), 0)"
POSTGRESQL = [
    "CREATE TABLE leads_leadtally (id bigserial PRIMARY KEY, user_id integer NOT NULL, "
    "status varchar(16) NOT NULL, n bigint NOT NULL, cents bigint NOT NULL)",
    "CREATE INDEX leadtally_owner_status ON leads_leadtally (user_id, status)",
    f"""
    CREATE FUNCTION leads_tally_statement() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'INSERT' THEN
            INSERT INTO leads_leadtally (user_id, status, n, cents)
            SELECT user_id, status, COUNT(*), SUM({CENTS_PG}) FROM new_rows
            GROUP BY user_id, status;
        ELSIF TG_OP = 'DELETE' THEN
            INSERT INTO leads_leadtally (user_id, status, n, cents)
            SELECT user_id, status, -COUNT(*), -SUM({CENTS_PG}) FROM old_rows
            GROUP BY user_id, status;
        ELSIF TG_OP = 'UPDATE' THEN
            INSERT INTO leads_leadtally (user_id, status, n, cents)
            SELECT user_id, status, SUM(n), SUM(cents) FROM (
                SELECT user_id, status, 1 AS n, {CENTS_PG} AS cents FROM new_rows
                UNION ALL
                SELECT user_id, status, -1, -{CENTS_PG} FROM old_rows
            ) AS changes
            GROUP BY user_id, status
            HAVING SUM(n) <> 0 OR SUM(cents) <> 0;
        ELSE
            DELETE FROM leads_leadtally;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    "CREATE TRIGGER lead_tally_insert AFTER INSERT ON leads_lead "
    "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION leads_tally_statement()",
    "CREATE TRIGGER lead_tally_delete AFTER DELETE ON leads_lead "
    "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION leads_tally_statement()",
    "CREATE TRIGGER lead_tally_update AFTER UPDATE ON leads_lead "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT "
    "EXECUTE FUNCTION leads_tally_statement()",
    "CREATE TRIGGER lead_tally_truncate AFTER TRUNCATE ON leads_lead "
    "FOR EACH STATEMENT EXECUTE FUNCTION leads_tally_statement()",
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS lead_tally_insert ON leads_lead",
    "DROP TRIGGER IF EXISTS lead_tally_delete ON leads_lead",
    "DROP TRIGGER IF EXISTS lead_tally_update ON leads_lead",
    "DROP TRIGGER IF EXISTS lead_tally_truncate ON leads_lead",
    "DROP FUNCTION IF EXISTS leads_tally_statement()",
    "DROP TABLE IF EXISTS leads_leadtally",
]

BACKFILL = {
    "sqlite": "INSERT INTO leads_leadtally (user_id, status, n, cents) "
    f"SELECT user_id, status, COUNT(*), SUM({CENTS_SQLITE.format(row='leads_lead')}) "
    "FROM leads_lead GROUP BY user_id, status",
    "postgresql": "INSERT INTO leads_leadtally (user_id, status, n, cents) "
    f"SELECT user_id, status, COUNT(*), SUM({CENTS_PG}) FROM leads_lead GROUP BY user_id, status",
}


def create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    statements = {"sqlite": SQLITE, "postgresql": POSTGRESQL}[vendor]
    for statement in statements:
        schema_editor.execute(statement)
    schema_editor.execute(BACKFILL[vendor])


def drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}[vendor]:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("leads", "0013_leadevent_status_at")]

    operations = [
        migrations.CreateModel(
            name="LeadTally",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("user_id", models.IntegerField()),
                ("status", models.CharField(max_length=16)),
                ("n", models.BigIntegerField()),
                ("cents", models.BigIntegerField()),
            ],
            options={"managed": False, "db_table": "leads_leadtally"},
        ),
        migrations.RunPython(create, drop),
    ]
