"""Shared by the PostgreSQL-only migrations (Django does not load modules named with a "_")."""


def on_postgresql(statements: list[str]):
    """A RunPython function that runs ``statements`` on PostgreSQL and nothing elsewhere."""

    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply
