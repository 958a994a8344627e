from django.urls import path

from csvimport import views

urlpatterns = [
    path("leads/import/", views.csv_import_upload, name="csv-import"),
    path("leads/import/<int:id>/", views.csv_import_preview, name="csv-import-preview"),
    path("leads/import/<int:id>/progress/", views.csv_import_progress, name="csv-import-progress"),
    path("leads/import/<int:id>/cancel/", views.csv_import_cancel, name="csv-import-cancel"),
    path(
        "leads/import/<int:id>/rejected.csv",
        views.csv_import_rejected_csv,
        name="csv-import-rejected-csv",
    ),
]
