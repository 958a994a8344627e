"""What every page may show of the person's integrations."""

from __future__ import annotations

from integrations.models import Integration
from leads.scope import Scope


def export_targets(request) -> dict:
    """The integrations a lead list or page can export to, for templates that offer it."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    user = request.user

    def targets():
        # Evaluated only by a template that shows export controls: no query on other pages.
        return list(Scope.of(user).own(Integration).order_by("provider"))

    return {"export_targets": targets}
