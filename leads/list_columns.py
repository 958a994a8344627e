"""The optional columns of the leads list: declared once for the page, its chooser form and
the service that saves a person's choice."""

from __future__ import annotations

# Name -> header, in the order the table shows them. Name, company and status always show.
LIST_COLUMNS: dict[str, str] = {
    "phone": "Phone",
    "position": "Position",
    "source": "Source",
    "owner": "Owner",
    "score": "Score",
    "value": "Value",
    "created": "Created",
    # When the lead last changed (its updated_at, which every write through the services
    # moves, history entries included): on the row already, so it costs no query.
    "last_activity": "Last activity",
}

# What a person sees before choosing: the columns the list always had.
DEFAULT_COLUMNS: tuple[str, ...] = ("score", "created")
