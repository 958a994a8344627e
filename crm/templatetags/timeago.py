"""``{{ moment|ago }}``: "just now", "3 minutes ago", "3 hours ago", "2 days ago", then the date.

Django's ``timesince`` reads "0 minutes" and "2 hours, 5 minutes"; a person scanning a list
wants one unit, and "just now" for what has just happened."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

register = template.Library()

_UNITS = ((86_400, "day"), (3_600, "hour"), (60, "minute"))


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}{'' if count == 1 else 's'}"


@register.filter
def ago(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    if not isinstance(value, dt.datetime):
        return ""
    now = now or timezone.now()
    seconds = (now - value).total_seconds()
    if abs(seconds) < 60:
        return "just now"
    if seconds < 0:
        for size, unit in _UNITS:
            if -seconds >= size:
                return "in " + _plural(int(-seconds // size), unit)
    if seconds >= 30 * 86_400:
        return date_format(timezone.localtime(value), "j M Y")
    for size, unit in _UNITS:
        if seconds >= size:
            return _plural(int(seconds // size), unit) + " ago"
    return "just now"
