"""The sign-in page (throttled) and the API tokens page: create (shown once), name, expiry,
revoke."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from accounts.login_throttle import ThrottledAuthenticationForm, mark_throttled
from accounts.models import ApiToken
from accounts.services import api_token_create, api_token_revoke, api_tokens_revoke_all

EXPIRY_CHOICES = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")]


class TokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Name", help_text="Where you will use it.")
    # One per rendered form: a resubmitted form (reload, double click) creates no second token.
    nonce = forms.CharField(max_length=64, widget=forms.HiddenInput)
    expires_in = forms.ChoiceField(
        choices=EXPIRY_CHOICES, required=False, initial="90", label="Expires after"
    )

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError("Give the token a name.")
        return name


def _tokens(user):
    return ApiToken.objects.filter(user=user).order_by("-id")[:200]


def _fresh_form() -> TokenForm:
    return TokenForm(initial={"nonce": secrets.token_urlsafe(16), "expires_in": "90"})


@login_required
def token_list(request: HttpRequest) -> HttpResponse:
    form = _fresh_form()
    created = None
    resubmitted = False
    if request.method == "POST":
        form = TokenForm(request.POST)
        if form.is_valid():
            used = request.session.get("token_nonces", [])
            if form.cleaned_data["nonce"] in used:
                resubmitted = True
            else:
                days = form.cleaned_data["expires_in"]
                expires_at = timezone.now() + timedelta(days=int(days)) if days else None
                token, raw = api_token_create(
                    user=request.user, name=form.cleaned_data["name"], expires_at=expires_at
                )
                request.session["token_nonces"] = [*used[-19:], form.cleaned_data["nonce"]]
                # Rendered once, in this response; the raw token is never stored anywhere.
                created = {"token": token, "raw": raw}
            form = _fresh_form()
    return render(
        request,
        "accounts/tokens.html",
        {
            "form": form,
            "tokens": _tokens(request.user),
            "created": created,
            "resubmitted": resubmitted,
            "now": timezone.now(),
        },
        status=400 if request.method == "POST" and form.errors else 200,
    )


@login_required
@require_POST
def token_revoke(request: HttpRequest, id: int) -> HttpResponse:
    token = ApiToken.objects.filter(user_id=request.user.pk or 0, pk=id).first()
    if token is None:
        raise Http404
    api_token_revoke(token=token)
    return redirect("token-list")


@login_required
@require_POST
def token_revoke_all(request: HttpRequest) -> HttpResponse:
    revoked = api_tokens_revoke_all(user_id=request.user.pk or 0)
    messages.success(
        request,
        f"Revoked {revoked} token{'s' if revoked != 1 else ''}."
        if revoked
        else "No active tokens.",
    )
    return redirect("token-list")


class LoginView(auth_views.LoginView):
    """Django's sign-in page; repeated failures are refused a while (accounts.login_throttle)."""

    authentication_form = ThrottledAuthenticationForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["password_reset"] = bool(settings.EMAIL_CONFIG)
        return context

    def form_invalid(self, form):
        return mark_throttled(super().form_invalid(form), form)
