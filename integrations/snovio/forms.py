"""The Snov.io settings a person chooses on the integration's page (ProviderSpec.options)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import forms
from rest_framework import serializers as drf_serializers

from integrations.serializers import CustomFieldMapField


class SnovioOptionsForm(forms.Form):
    full_profiles = forms.BooleanField(
        required=False,
        label="Fetch each prospect's full profile (company, position, LinkedIn, country)",
        help_text="One request a prospect at Snov.io's 60 a minute: 5,000 new prospects take "
        "about an hour and a half. Off: names and emails only, in a minute or two.",
    )
    custom_field_map = forms.CharField(
        required=False,
        label="Custom attributes to Snov.io custom fields",
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "lead_source = Source"}),
        help_text="One per line: CRM attribute = Snov.io field. Attributes named like one of "
        "your Snov.io custom fields go there anyway; Snov.io refuses all others.",
    )

    @staticmethod
    def initial_from(options: Mapping[str, Any]) -> dict[str, Any]:
        field_map = options.get("custom_field_map") or {}
        return {
            "full_profiles": bool(options.get("full_profiles", True)),
            "custom_field_map": "\n".join(f"{key} = {label}" for key, label in field_map.items()),
        }

    def clean_custom_field_map(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for number, line in enumerate(self.cleaned_data["custom_field_map"].splitlines(), 1):
            if not line.strip():
                continue
            key, sep, label = line.partition("=")
            if not sep or not key.strip() or not label.strip():
                raise forms.ValidationError(
                    f"Line {number}: write it as “CRM attribute = Snov.io field”."
                )
            mapping[key.strip()] = label.strip()
        # The limits on a mapping are the API's, checked in one place.
        try:
            return CustomFieldMapField().run_validation(mapping)
        except drf_serializers.ValidationError as error:
            raise forms.ValidationError([str(message) for message in error.detail]) from None
