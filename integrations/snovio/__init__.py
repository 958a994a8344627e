"""Snov.io (https://snov.io) REST API: import and export of prospects in prospect lists."""

from integrations.snovio.client import MemoryTokenStore, SnovioClient, TokenStore

__all__ = ["MemoryTokenStore", "SnovioClient", "TokenStore"]
