from __future__ import annotations

import pytest
from django.test import Client

from accounts.services import api_token_create
from leads.tests.factories import CompanyFactory, UserFactory


class ApiClient:
    """A JSON client for /v1 authenticated with a real personal API token."""

    def __init__(self, user) -> None:
        _, self.token = api_token_create(user=user, name="tests")
        self.user = user
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {self.token}")

    def get(self, path: str, params: dict | None = None):
        return self.client.get(path, params or {})

    def post(self, path: str, data=None):
        return self.client.post(
            path, data if data is not None else {}, content_type="application/json"
        )

    def patch(self, path: str, data=None):
        return self.client.patch(
            path, data if data is not None else {}, content_type="application/json"
        )

    def put(self, path: str, data=None):
        return self.client.put(
            path, data if data is not None else {}, content_type="application/json"
        )

    def delete(self, path: str):
        return self.client.delete(path)


@pytest.fixture
def user(db):
    return UserFactory(username="alice")


@pytest.fixture
def other_user(db):
    return UserFactory(username="bob")


@pytest.fixture
def api(user) -> ApiClient:
    return ApiClient(user)


@pytest.fixture
def other_api(other_user) -> ApiClient:
    return ApiClient(other_user)


@pytest.fixture
def company(user):
    return CompanyFactory(user=user, name="Acme Corp", domain="acme.com")
