from django.apps import AppConfig


class CrmConfig(AppConfig):
    """The project package as an app, for what belongs to the server rather than to a feature:
    the register of running processes (crm/running.py)."""

    name = "crm"
    verbose_name = "Server"
    default_auto_field = "django.db.models.BigAutoField"
