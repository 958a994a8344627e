from django.urls import path

from integrations import views

urlpatterns = [
    path("integrations/", views.integration_list, name="integration-list"),
    path("integrations/export/", views.export_selected, name="integration-export-selected"),
    path(
        "integrations/connect/<str:provider>/",
        views.integration_connect,
        name="integration-connect",
    ),
    path("integrations/<int:id>/", views.integration_detail, name="integration-detail"),
    path(
        "integrations/<int:id>/settings/",
        views.integration_settings,
        name="integration-settings",
    ),
    path("integrations/<int:id>/test/", views.integration_test, name="integration-test-page"),
    path(
        "integrations/<int:id>/disconnect/",
        views.integration_disconnect,
        name="integration-disconnect",
    ),
    path(
        "integrations/<int:id>/export-all/",
        views.integration_export_confirm,
        name="integration-export-confirm",
    ),
    path(
        "integrations/<int:id>/deleted/",
        views.integration_deleted,
        name="integration-deleted",
    ),
    path(
        "integrations/<int:id>/deleted/restore/",
        views.integration_deleted_restore,
        name="integration-deleted-restore",
    ),
    path(
        "integrations/<int:id>/<str:direction>/",
        views.integration_start,
        name="integration-start",
    ),
    path("sync-runs/<int:id>/", views.run_detail, name="run-detail"),
    path("sync-runs/<int:id>/progress/", views.run_progress, name="run-progress"),
    path("sync-runs/<int:id>/cancel/", views.run_cancel, name="run-cancel-page"),
]
