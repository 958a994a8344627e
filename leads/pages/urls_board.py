"""Web UI routes for the pipeline board and the dashboard."""

urlpatterns: list = []
