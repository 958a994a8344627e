"""A lead's deal value and expected close date (api.md), with deal_value >= 0 checked.

Added with plain ALTER TABLE on both databases, as 0006 does: on SQLite Django would rebuild
leads_lead (a copy of every lead) for the constraint, and the rebuild drops the triggers of the
search index (0002). A nullable column without a default costs no rewrite on either database.
"""

from django.db import migrations, models

CHECK = "CONSTRAINT lead_deal_value_not_negative CHECK (deal_value IS NULL OR deal_value >= 0)"
COLUMNS = {
    "sqlite": [f"deal_value decimal NULL {CHECK}", "expected_close_date date NULL"],
    "postgresql": [f"deal_value numeric(14, 2) NULL {CHECK}", "expected_close_date date NULL"],
}


def add_columns(apps, schema_editor):
    for column in COLUMNS[schema_editor.connection.vendor]:
        schema_editor.execute(f"ALTER TABLE leads_lead ADD COLUMN {column}")


def drop_columns(apps, schema_editor):
    for column in reversed(COLUMNS[schema_editor.connection.vendor]):
        schema_editor.execute(f"ALTER TABLE leads_lead DROP COLUMN {column.split()[0]}")


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0007_search_text_full_name_folded"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="lead",
                    name="deal_value",
                    field=models.DecimalField(
                        blank=True, decimal_places=2, max_digits=14, null=True
                    ),
                ),
                migrations.AddField(
                    model_name="lead",
                    name="expected_close_date",
                    field=models.DateField(blank=True, null=True),
                ),
                migrations.AddConstraint(
                    model_name="lead",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            ("deal_value__isnull", True), ("deal_value__gte", 0), _connector="OR"
                        ),
                        name="lead_deal_value_not_negative",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(add_columns, drop_columns)],
        )
    ]
