from django.urls import path

from leads.pages import csv_export

urlpatterns = [
    path("leads/export.csv", csv_export.lead_export_csv, name="lead-export-csv"),
]
