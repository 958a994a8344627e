"""What `make run` does with static files works: collectstatic with the production manifest
storage, and every page's {% static %} references exist in the manifest."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client

from leads.tests.factories import UserFactory, make_lead

PRODUCTION_STORAGE = "whitenoise.storage.CompressedManifestStaticFilesStorage"


@pytest.mark.django_db
def test_collectstatic_and_every_page_with_the_manifest_storage(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": PRODUCTION_STORAGE}}
    settings.WHITENOISE_USE_FINDERS = False
    call_command("collectstatic", interactive=False, verbosity=0)
    assert (tmp_path / "static" / "staticfiles.json").exists()

    user = UserFactory(username="static-check")
    lead = make_lead(user=user, email="s@x.com")
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    client.force_login(user)
    for path in [
        "/", "/leads/", f"/leads/{lead.pk}/", "/leads/new/", "/companies/",
        f"/companies/{lead.company_id}/", "/board/", "/dashboard/", "/integrations/",
        "/settings/tokens/", "/leads/import/", "/v1/docs",
    ]:  # fmt: skip
        assert client.get(path).status_code == 200, path
