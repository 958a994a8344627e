"""Web UI routes for leads and companies."""

urlpatterns: list = []
