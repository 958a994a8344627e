from __future__ import annotations

import pytest
from django.test import Client

from csvimport import services
from csvimport.models import CsvImport
from leads.tests.factories import UserFactory


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob")


@pytest.fixture
def web(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def make_import(user, text: str, *, mapping=None, mode: str = "create") -> CsvImport:
    """An uploaded file, mapped and queued, ready for the job (no Celery involved)."""
    csv_import = services.csv_import_create(
        user=user, filename="leads.csv", raw=text.encode("utf-8")
    )
    csv_import.mapping = mapping or csv_import.mapping
    csv_import.mode = mode
    csv_import.state = CsvImport.State.QUEUED
    csv_import.save()
    return csv_import
