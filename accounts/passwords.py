"""Password change (signed-in people) and reset by email (only when mail is configured),
both throttled.

Django's ``auth.urls`` served every password view to anyone, unthrottled, and the reset form
without mail settings logged a traceback per request. Here:

- a wrong current password on the change form counts like a failed sign-in for that account
  (``LOGIN_MAX_FAILURES`` within ``LOGIN_FAILURE_WINDOW``, then 429 until the window ends);
- the reset pages exist only while ``EMAIL_URL`` is set, and a reset may be requested
  ``PASSWORD_RESET_MAX`` times per address and per email within the window. The answer is
  the same whether or not an account has that email, so the throttle tells nobody which
  addresses are registered.
"""

from __future__ import annotations

import hashlib

from django import forms
from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest

from accounts.login_throttle import mark_throttled, wait_seconds, wait_text
from crm import throttling
from crm.throttling import client_address, window_clear, window_hit


def _refusal(form, now: float, message: str) -> forms.ValidationError:
    wait = wait_seconds(settings.LOGIN_FAILURE_WINDOW, now)
    form.throttled_for = wait
    return forms.ValidationError(
        message + " Try again in %(wait)s.", code="throttled", params={"wait": wait_text(wait)}
    )


class ThrottledPasswordChangeForm(auth_forms.PasswordChangeForm):
    throttled_for = 0

    def clean_old_password(self):
        key = f"password-change:{self.user.pk}"
        period, now = settings.LOGIN_FAILURE_WINDOW, throttling.time.time()
        # Counted before the slow hash: parallel guesses cannot all be checked.
        if window_hit(key, period, now) > settings.LOGIN_MAX_FAILURES:
            raise _refusal(self, now, "Too many wrong passwords.")
        value = super().clean_old_password()
        window_clear(key, period)
        return value


class PasswordChangeView(auth_views.PasswordChangeView):
    """Signed-in people only (Django's view requires it); a changed password also revokes
    the person's API tokens (accounts.signals)."""

    form_class = ThrottledPasswordChangeForm

    def form_invalid(self, form):
        return mark_throttled(super().form_invalid(form), form)


class ThrottledPasswordResetForm(auth_forms.PasswordResetForm):
    throttled_for = 0
    request: HttpRequest | None = None

    def clean_email(self):
        email = self.cleaned_data["email"].strip().lower()
        period, now = settings.LOGIN_FAILURE_WINDOW, throttling.time.time()
        digest = hashlib.sha256(email.encode()).hexdigest()[:32]
        keys = [f"password-reset-email:{digest}"]
        if self.request is not None:
            keys.append(f"password-reset-ip:{client_address(self.request)}")
        totals = [window_hit(key, period, now) for key in keys]
        if any(total > settings.PASSWORD_RESET_MAX for total in totals):
            raise _refusal(self, now, "Too many password reset requests.")
        return email


class MailRequiredMixin:
    """The reset pages exist only while the server can send mail (EMAIL_URL)."""

    def dispatch(self, request, *args, **kwargs):
        if not settings.EMAIL_CONFIG:
            raise Http404
        return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]


class PasswordResetView(MailRequiredMixin, auth_views.PasswordResetView):
    form_class = ThrottledPasswordResetForm

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        form.request = self.request
        return form

    def form_invalid(self, form):
        return mark_throttled(super().form_invalid(form), form)


class PasswordResetDoneView(MailRequiredMixin, auth_views.PasswordResetDoneView):
    pass


class PasswordResetConfirmView(MailRequiredMixin, auth_views.PasswordResetConfirmView):
    pass


class PasswordResetCompleteView(MailRequiredMixin, auth_views.PasswordResetCompleteView):
    pass
