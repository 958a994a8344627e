from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from integrations.tombstones import tombstones_for_deleted_leads
        from leads.signals import leads_deleting

        leads_deleting.connect(tombstones_for_deleted_leads, dispatch_uid="integration-tombstones")
