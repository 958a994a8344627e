"""Every vendor the product connects to, by key. Adding one is one package and one line here."""

from __future__ import annotations

from integrations import hunter, instantly, snovio
from integrations.spec import ProviderSpec

PROVIDERS: dict[str, ProviderSpec] = {
    spec.key: spec
    for spec in (
        hunter.SPEC,
        snovio.SPEC,
        instantly.SPEC,
    )
}


def provider_spec(key: str) -> ProviderSpec:
    try:
        return PROVIDERS[key]
    except KeyError:
        raise ValueError(f"unknown provider {key!r}") from None


def provider_choices() -> list[tuple[str, str]]:
    return [(spec.key, spec.label) for spec in PROVIDERS.values()]
