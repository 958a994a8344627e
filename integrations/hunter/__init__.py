"""Hunter (https://hunter.io) Leads API v2: import and export of leads."""

from integrations.hunter.client import HunterClient

__all__ = ["HunterClient"]
