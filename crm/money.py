"""Amounts in the CRM's one currency (settings.CURRENCY), as people read them.

``money("12500.5")`` → "$12,500.50"; ``money_short("1250000")`` → "$1.3M" for the board's
column totals, where a full figure would not fit. Codes without a well-known symbol are
written before the number ("CHF 1,200.00").
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.conf import settings

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CAD": "CA$", "AUD": "A$"}


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _with_currency(text: str, currency: str | None = None) -> str:
    code = currency or settings.CURRENCY
    symbol = SYMBOLS.get(code)
    return f"{symbol}{text}" if symbol else f"{code} {text}"


def money(value: Any, currency: str | None = None) -> str:
    """The amount with two decimals and thousands separators; "" when there is none."""
    number = _decimal(value)
    if number is None:
        return ""
    return _with_currency(f"{number:,.2f}", currency)


def money_short(value: Any, currency: str | None = None) -> str:
    """The amount rounded for a glance: "$950", "$12.5K", "$1.3M", "$2.1B"."""
    number = _decimal(value)
    if number is None:
        return ""
    for scale, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(1000), "K")):
        if abs(number) >= scale:
            tenths = (number / scale).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
            short = f"{tenths:,.1f}".removesuffix(".0")
            return _with_currency(short + suffix, currency)
    return _with_currency(f"{number:,.0f}", currency)
