from __future__ import annotations

from decimal import Decimal

import pytest

from crm.money import money, money_short


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("12500.5", "$12,500.50"),
        (Decimal("0"), "$0.00"),
        (1234567.891, "$1,234,567.89"),
        (None, ""),
        ("", ""),
        ("not a number", ""),
    ],
)
def test_money(value, text):
    assert money(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("950", "$950"),
        ("12500", "$12.5K"),
        ("1000", "$1K"),
        ("1250000", "$1.3M"),
        ("2100000000", "$2.1B"),
        (None, ""),
    ],
)
def test_money_short(value, text):
    assert money_short(value) == text


def test_other_currencies(settings):
    settings.CURRENCY = "EUR"
    assert money("5") == "€5.00"
    assert money("1200", currency="CHF") == "CHF 1,200.00"
