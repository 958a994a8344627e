"""Instantly (API V2): lead lists and campaigns in, leads and their interest status out."""

from integrations.instantly.client import InstantlyClient, parse_lead

__all__ = ["InstantlyClient", "parse_lead"]
