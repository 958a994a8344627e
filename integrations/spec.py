"""What a vendor package tells the rest of the product about itself (see ``registry``).

The engine, the views, the forms, the serializers and the tasks read these facts instead of
branching on vendor names; adding a vendor is one package that builds a ``ProviderSpec`` and
one line in ``integrations.registry``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django import forms

    from integrations.models import Integration
    from integrations.records import ProviderClient

    class OptionsForm(forms.Form):
        @staticmethod
        def initial_from(options: Mapping[str, Any]) -> dict[str, Any]: ...


# The labels of credential fields, whichever vendor asks for them.
CREDENTIAL_LABELS = {
    "api_key": "API key",
    "client_id": "API user ID (client id)",
    "client_secret": "API secret (client secret)",
}


@dataclass(frozen=True)
class ProviderSpec:
    key: str  # stored on integrations and runs: never change it
    label: str  # as people know the vendor, and the source label of imported leads
    credential_fields: tuple[str, ...]
    # Where a person finds the credentials in the vendor's own screens.
    credential_help: str
    # (integration, decrypted credentials, client keyword overrides) → a working client.
    make_client: Callable[[Integration, Mapping[str, str], dict[str, Any]], ProviderClient]
    # Reads every lead of the account when no list is chosen (else an import needs a list).
    imports_without_list: bool = False
    # Keeps exported leads outside any list (else an export needs a list or a campaign).
    exports_without_list: bool = False
    # A person without an email cannot become a lead from this vendor (it identifies
    # prospects by email, and its records without one cannot be exported back).
    requires_email: bool = False
    # Settings only this vendor has, kept in Integration.options; with their defaults.
    options: Mapping[str, Any] = field(default_factory=dict)
    # The form fields of those options on the integration's page: a callable returning a
    # Django form class with one field per option and ``initial_from(options)`` (imported
    # when asked for: the vendor's forms may use the serializers, which read the registry).
    options_form: Callable[[], type[OptionsForm]] | None = None

    def credentials_hint(self, credentials: Mapping[str, str]) -> str:
        """``…4f2a``: enough to recognise a key, useless to anyone who sees it."""
        secret = credentials.get(self.credential_fields[0]) or ""
        return f"…{secret[-4:]}" if len(secret) >= 12 else "…"
