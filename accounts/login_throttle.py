"""Sign-in throttling for the web sign-in page and the Django admin's.

Three counts, each over the same ``LOGIN_FAILURE_WINDOW``:

- a **(username, address) pair** that failed ``LOGIN_MAX_FAILURES`` times is refused, even
  with the right password, until the window ends: one client guessing one account;
- an **address** that failed ``LOGIN_MAX_FAILURES_PER_IP`` times is refused for every
  username: one client trying one password on many accounts;
- a **username** that failed ``LOGIN_MAX_FAILURES`` times across all addresses is *slowed
  down*, not refused: its password is checked at most once every ``LOGIN_SLOWDOWN_SECONDS``,
  other attempts meanwhile answer "try again in a few seconds". Many addresses guessing one
  account get a handful of guesses a minute between them, and nobody can lock the account's
  owner out by failing on purpose from elsewhere (a lock per username let anyone lock
  ``admin`` out with five wrong passwords).

Each attempt is counted *before* the slow password hash, atomically (the counters return
their new total), and taken back when it turns out not to be a failed guess: parallel
attempts cannot all slip through between the check and the count.

Failures are counted with the API rate limit's counters (``crm.throttling``): a SQLite side
file on the embedded default, the shared cache (Redis) when scaled out.
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

from crm import throttling
from crm.throttling import (
    client_address,
    window_clear,
    window_count,
    window_hit,
    window_remaining,
    window_undo,
)


def _user_digest(username: str) -> str:
    # Hashed: keys stay short and safe for any cache whatever a visitor types.
    return hashlib.sha256(username.strip().lower().encode()).hexdigest()[:32]


def _user_key(username: str) -> str:
    return f"login-user:{_user_digest(username)}"


def _refusing_keys(request: HttpRequest | None, username: str) -> list[tuple[str, int]]:
    """The counts that refuse an attempt once over their limit: the pair, the address."""
    address = client_address(request) if request is not None else "-"
    keys = [(f"login-pair:{_user_digest(username)}:{address}", settings.LOGIN_MAX_FAILURES)]
    if request is not None:
        keys.append((f"login-ip:{address}", settings.LOGIN_MAX_FAILURES_PER_IP))
    return keys


def wait_seconds(period: int, now: float) -> int:
    """Whole seconds until the current window of ``period`` seconds ends (at least 1)."""
    return max(1, math.ceil(window_remaining(period, now)))


class Attempt:
    """One sign-in attempt, counted before its password is checked."""

    def __init__(self, request: HttpRequest | None, username: str) -> None:
        self.request = request
        self.username = username
        self.now = throttling.time.time()
        self.period = settings.LOGIN_FAILURE_WINDOW
        self.keys = _refusing_keys(request, username)
        self.counted = False

    def begin(self) -> tuple[int, str]:
        """Count the attempt; (seconds to wait, why) when it must be refused, else (0, "")."""
        totals = [window_hit(key, self.period, self.now) for key, _ in self.keys]
        self.counted = True
        if any(total > limit for total, (_, limit) in zip(totals, self.keys, strict=True)):
            return wait_seconds(self.period, self.now), "locked"
        if window_count(_user_key(self.username), self.period) >= settings.LOGIN_MAX_FAILURES:
            # Under attack from many addresses: one checked attempt per slot, for everyone.
            slot = settings.LOGIN_SLOWDOWN_SECONDS
            slot_key = f"login-slot:{_user_digest(self.username)}"
            if window_hit(slot_key, slot, self.now) > 1:
                self.not_a_guess()  # never checked: not a failure of this pair or address
                return wait_seconds(slot, self.now), "slowed"
        return 0, ""

    def not_a_guess(self) -> None:
        """The attempt was not a wrong password (refused unchecked, an inactive user, a
        non-staff user at the admin): take back what ``begin`` counted."""
        if self.counted:
            for key, _ in self.keys:
                window_undo(key, self.period, self.now)
            self.counted = False

    def failed(self) -> int:
        """A wrong password: it stays counted, and counts against the username too. Seconds
        to wait if this failure reached a limit, else 0."""
        window_hit(_user_key(self.username), self.period, self.now)
        totals = [window_count(key, self.period) for key, _ in self.keys]
        if any(total >= limit for total, (_, limit) in zip(totals, self.keys, strict=True)):
            return wait_seconds(self.period, self.now)
        return 0

    def succeeded(self) -> None:
        """The right password: its own pair and username start afresh; the address's count
        goes back to what it was (a sign-in is not a failure)."""
        pair, *address = [key for key, _ in self.keys]
        for key in address:
            window_undo(key, self.period, self.now)
        window_clear(pair, self.period)
        window_clear(_user_key(self.username), self.period)


def wait_text(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class ThrottledLoginMixin:
    """For an AuthenticationForm: count first, refuse while throttled, clear on success."""

    request: HttpRequest | None
    cleaned_data: dict
    user_cache: Any
    # Seconds the client must wait; set when this form refused a throttled attempt.
    throttled_for = 0

    def _refuse(self, wait: int, why: str = "locked") -> forms.ValidationError:
        self.throttled_for = wait
        if why == "slowed":
            return forms.ValidationError(
                "This account is receiving many failed sign-ins from elsewhere; try again in "
                "%(wait)s.",
                code="throttled",
                params={"wait": wait_text(wait)},
            )
        return forms.ValidationError(
            "Too many failed sign-ins. Try again in %(wait)s.",
            code="throttled",
            params={"wait": wait_text(wait)},
        )

    def clean(self):
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if not (username and password):
            return super().clean()  # type: ignore[misc]
        attempt = Attempt(self.request, username)
        wait, why = attempt.begin()
        if wait:
            # Refused before the password is even checked: a right guess learns nothing.
            raise self._refuse(wait, why)
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except forms.ValidationError:
            if self.user_cache is not None:  # an inactive or non-staff user, not a guess
                attempt.not_a_guess()
                raise
            wait = attempt.failed()
            if wait:
                raise self._refuse(wait) from None
            raise
        except BaseException:
            attempt.not_a_guess()
            raise
        attempt.succeeded()
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
