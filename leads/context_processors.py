"""What every page may show of the person's place in a team."""

from __future__ import annotations

from django.urls import reverse

from leads.scope import Scope


def team_navigation(request) -> dict:
    """The Team page's link in the main navigation: for a team's manager only (for anyone
    else that page does not exist)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not Scope.of(user).is_manager:
        return {}
    return {"team_url": reverse("team")}
