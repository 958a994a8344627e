"""The "who gets the new leads" choice of an import, on the integration's page and on the CSV
import's preview: the same fields and the same rules (``leads.assignment``) as the API's
``settings.assign`` and ``settings.assign_to``."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from leads.assignment import assign_check, assign_to_check
from leads.models import Assign
from leads.page_selectors import team_owners


class UserIdsField(forms.MultipleChoiceField):
    """Ticked user ids. Which ids may be named is ``assign_to_check``'s to say (in the same
    words for someone outside the team as for nobody), not the offered choices'."""

    def valid_value(self, value: Any) -> bool:
        return True

    def clean(self, value: Any) -> list[int]:
        texts = super().clean(value)
        if any(not text.isascii() or not text.isdigit() or len(text) > 18 for text in texts):
            raise ValidationError("Tick members of your team.")
        return [int(text) for text in texts]


class AssignmentForm(forms.Form):
    assign = forms.ChoiceField(
        choices=Assign.choices,
        required=False,
        label="New leads go to",
        widget=forms.RadioSelect,
    )
    assign_to = UserIdsField(
        required=False,
        label="Spread over",
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every active rep of your team. Inactive members are skipped.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        # The members a manager may name (none for anyone else: the choice is not offered).
        self.members = team_owners(user=user, active_only=True)
        fields: Any = self.fields
        fields["assign_to"].choices = [(str(m["id"]), m["name"]) for m in self.members]

    @property
    def offered(self) -> bool:
        return bool(self.members)

    @property
    def posted(self) -> bool:
        """Whether the submitted form held the choice (a rep's page has none to send)."""
        return self.is_bound and "assign" in self.data

    def clean_assign(self) -> str | None:
        if not self.posted:
            return None
        return assign_check(user=self.user, assign=self.cleaned_data.get("assign") or "")

    def clean_assign_to(self) -> list[int] | None:
        if not self.posted:
            return None
        return assign_to_check(user=self.user, assign_to=self.cleaned_data.get("assign_to"))

    def assignment(self) -> dict[str, Any]:
        """The valid choice as settings (``assign``, ``assign_to``); empty when not posted."""
        if not self.posted:
            return {}
        return {
            "assign": self.cleaned_data["assign"],
            "assign_to": self.cleaned_data["assign_to"],
        }
