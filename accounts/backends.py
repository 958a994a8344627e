"""The sign-in backend: Django's, reading the person's team membership with the user.

Every page asks for the person's scope (``leads.scope.Scope``), which depends on their team
role; loaded here in the same statement as the user (a LEFT JOIN), it costs a rep nothing.
The membership model is named by its relation only: accounts imports no other app.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend

MEMBERSHIP = "crm_membership"


class MembershipModelBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        model = get_user_model()
        try:
            user = model._default_manager.select_related(MEMBERSHIP).get(pk=user_id)
        except model.DoesNotExist:
            return None
        return user if self.user_can_authenticate(user) else None
