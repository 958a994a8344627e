"""``{{ lead.deal_value|money }}`` and ``{{ total|money_short }}`` (crm.money)."""

from __future__ import annotations

from typing import Any

from django import template

from crm import money as amounts

register = template.Library()


@register.filter
def money(value: Any) -> str:
    return amounts.money(value)


@register.filter
def money_short(value: Any) -> str:
    return amounts.money_short(value)
