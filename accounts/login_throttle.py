"""Sign-in throttling for the web sign-in page and the Django admin's.

After ``LOGIN_MAX_FAILURES`` failed sign-ins for one username, or ``LOGIN_MAX_FAILURES_PER_IP``
from one address, within the same ``LOGIN_FAILURE_WINDOW``, every further attempt for that
username or from that address is refused, even with the right password, until the window ends:
a password cannot be guessed faster than a handful of tries per window, whether an attacker
tries many passwords for one account or one password for many accounts.

Failures are counted with the API rate limit's counters (``crm.throttling``): a SQLite side
file on the embedded default, the shared cache (Redis) when scaled out. A successful sign-in
clears only its own username's count; the address's count and everyone else's stay.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse

from crm.throttling import (
    client_address,
    window_clear,
    window_count,
    window_hit,
    window_remaining,
)


def _user_key(username: str) -> str:
    # Hashed: keys stay short and safe for any cache whatever a visitor types.
    digest = hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]
    return f"login-user:{digest}"


def _keys(request: HttpRequest | None, username: str) -> list[tuple[str, int]]:
    keys = [(_user_key(username), settings.LOGIN_MAX_FAILURES)]
    if request is not None:
        keys.append((f"login-ip:{client_address(request)}", settings.LOGIN_MAX_FAILURES_PER_IP))
    return keys


def login_wait(*, request: HttpRequest | None, username: str) -> int:
    """Seconds before this username may sign in from this address again; 0 when it may now."""
    period = settings.LOGIN_FAILURE_WINDOW
    if any(window_count(key, period) >= limit for key, limit in _keys(request, username)):
        return max(1, math.ceil(window_remaining(period)))
    return 0


def login_failed(*, request: HttpRequest | None, username: str) -> None:
    for key, _ in _keys(request, username):
        window_hit(key, settings.LOGIN_FAILURE_WINDOW)


def login_succeeded(*, username: str) -> None:
    window_clear(_user_key(username), settings.LOGIN_FAILURE_WINDOW)


def _wait_text(seconds: int) -> str:
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class ThrottledLoginMixin:
    """For an AuthenticationForm: refuse while throttled, count failures, clear on success."""

    request: HttpRequest | None
    cleaned_data: dict
    user_cache: Any
    # Seconds the client must wait; set when this form refused a throttled attempt.
    throttled_for = 0

    def _refuse(self, wait: int) -> forms.ValidationError:
        self.throttled_for = wait
        return forms.ValidationError(
            "Too many failed sign-ins. Try again in %(wait)s.",
            code="throttled",
            params={"wait": _wait_text(wait)},
        )

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not (username and password):
            return super().clean()  # type: ignore[misc]
        wait = login_wait(request=self.request, username=username)
        if wait:
            # Refused before the password is even checked: a right guess learns nothing.
            raise self._refuse(wait)
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            if self.user_cache is None:  # a wrong password, not an inactive or non-staff user
                login_failed(request=self.request, username=username)
                wait = login_wait(request=self.request, username=username)
                if wait:
                    raise self._refuse(wait) from None
            raise
        login_succeeded(username=username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledLoginMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(ThrottledLoginMixin, AdminAuthenticationForm):
    pass


def mark_throttled(response: HttpResponse, form: object) -> HttpResponse:
    """A refused attempt answers 429 with Retry-After; the page still shows the form."""
    wait = getattr(form, "throttled_for", 0)
    if wait:
        response.status_code = 429
        response["Retry-After"] = str(wait)
    return response
