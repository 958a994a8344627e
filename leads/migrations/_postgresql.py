"""Shared by the migrations that run on one database only (Django does not load modules named
with a "_")."""

from django.db import migrations


def on_vendor(vendor: str, statements: list[str]):
    """A RunPython function that runs ``statements`` on ``vendor`` ("postgresql", "sqlite")
    and nothing elsewhere."""

    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != vendor:
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


def on_postgresql(statements: list[str]):
    """A RunPython function that runs ``statements`` on PostgreSQL and nothing elsewhere."""
    return on_vendor("postgresql", statements)


def lead_index_replaced(old: str, old_using: str, new: str, new_using: str):
    """A RunPython operation that, on PostgreSQL, builds the index ``new`` of leads_lead
    (``USING …`` as ``new_using`` says) and then drops ``old``; backwards, the other way."""
    def swap(build: str, using: str, drop: str) -> list[str]:
        return [
            f"CREATE INDEX IF NOT EXISTS {build} ON leads_lead USING {using}",
            f"DROP INDEX IF EXISTS {drop}",
        ]

    return migrations.RunPython(
        on_postgresql(swap(new, new_using, old)), on_postgresql(swap(old, old_using, new))
    )


def sqlite_lead_index(name: str, definition: str):
    """A RunPython operation that, on SQLite, builds the index ``name`` of leads_lead
    (``definition``: its columns and any WHERE); backwards, drops it."""
    return migrations.RunPython(
        on_vendor(
            "sqlite", [f'CREATE INDEX IF NOT EXISTS "{name}" ON "leads_lead" {definition}']
        ),
        on_vendor("sqlite", [f'DROP INDEX IF EXISTS "{name}"']),
    )
