"""Signals the lead services send, so apps above ``leads`` can act on a write they do not make.

``leads_deleting`` is sent inside the deleting transaction, just before the leads go, with
``lead_ids`` (a list) and ``actor`` (the user who deletes them, or None). The integrations app
keeps a tombstone for each vendor link, so later imports skip the deleted person.
"""

from django.dispatch import Signal

leads_deleting = Signal()
