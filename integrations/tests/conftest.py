from __future__ import annotations

from typing import Any

import pytest

from integrations import services
from integrations.http import TransientError
from integrations.records import ExportLead, ExportOutcome, Page, VendorList, VendorRecord
from leads.tests.conftest import ApiClient
from leads.tests.factories import UserFactory


class ScriptedClient:
    """An in-memory ProviderClient for engine tests: pages of records, scripted faults."""

    provider = "hunter"
    export_batch_size = 3

    def __init__(self, pages: list[list[VendorRecord]] | None = None, total: int | None = None):
        self.pages = pages or []
        self.total = total
        self.fetches: list[Any] = []
        self.exported: list[tuple[dict, list[ExportLead]]] = []
        self.fail_next: list[Exception] = []
        self.export_failures: dict[str, str] = {}  # email → detail
        self.vendor_ids: dict[str, str] = {}

    def check(self) -> None:
        return None

    def lists(self) -> list[VendorList]:
        return [VendorList(id="1", name="Main", count=len(self.pages))]

    def fetch_page(self, list_id: str | None, checkpoint: dict | None) -> Page:
        self.fetches.append(checkpoint)
        if self.fail_next:
            raise self.fail_next.pop(0)
        index = (checkpoint or {}).get("page", 0)
        nxt = {"page": index + 1} if index + 1 < len(self.pages) else None
        return Page(list(self.pages[index]) if self.pages else [], nxt, self.total)

    def export_batch(self, target: dict, leads: list[ExportLead]) -> list[ExportOutcome]:
        if self.fail_next:
            raise self.fail_next.pop(0)
        self.exported.append((target, leads))
        outcomes = []
        for lead in leads:
            if lead.email in self.export_failures:
                outcomes.append(
                    ExportOutcome(lead.lead_id, ok=False, detail=self.export_failures[lead.email])
                )
                continue
            known = lead.email in self.vendor_ids
            vendor_id = self.vendor_ids.setdefault(lead.email, f"v-{lead.lead_id}")
            outcomes.append(
                ExportOutcome(lead.lead_id, ok=True, vendor_id=vendor_id, created=not known)
            )
        return outcomes


def transient(message: str = "boom", retry_after: float | None = None) -> TransientError:
    return TransientError(message, retry_after=retry_after)


@pytest.fixture
def rep(db):
    return UserFactory(username="rep")


@pytest.fixture
def rep_api(rep) -> ApiClient:
    return ApiClient(rep)


@pytest.fixture
def hunter_integration(rep):
    return services.integration_create(
        user=rep,
        provider="hunter",
        credentials={"api_key": "hk_test_0123456789abcdef"},
        settings={"import_list_id": 7, "export_list_id": 8},
    )


@pytest.fixture
def snovio_integration(rep):
    return services.integration_create(
        user=rep,
        provider="snovio",
        credentials={"client_id": "snov-id-0123456789", "client_secret": "snov-secret-0123"},
        settings={"import_list_id": "77", "export_list_id": "78"},
    )
