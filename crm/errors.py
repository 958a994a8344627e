"""Errors the domain code raises, whatever door it was called from.

Services and selectors know nothing of HTTP: they raise these (and Django's
``ValidationError`` for bad values), and each door turns them into its own answer once: the
API's exception handler into a 404 body, ``crm.middleware.DomainErrorsMiddleware`` into the
site's 404 page.
"""

from __future__ import annotations


class NotFound(Exception):
    """No such object within the caller's scope. Another user's object is exactly a missing
    one: the message never says which."""

    def __init__(self, what: str = "object") -> None:
        self.what = what
        super().__init__(f"No such {what}.")
