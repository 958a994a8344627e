from django.apps import AppConfig


class CsvImportConfig(AppConfig):
    name = "csvimport"
    verbose_name = "CSV import"
    default_auto_field = "django.db.models.BigAutoField"
