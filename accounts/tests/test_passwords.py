"""Only the password pages the product offers, each throttled (security review, issue 14
item 5): change for signed-in people; reset by email only while mail is configured."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-42"
MAIL = {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}


@pytest.fixture
def person(db):
    return get_user_model().objects.create_user(
        "petra", email="petra@example.com", password=PASSWORD
    )


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    "path",
    [
        "/accounts/password_reset/",
        "/accounts/password_reset/done/",
        "/accounts/reset/MQ/set-password/",
        "/accounts/reset/done/",
    ],
)
def test_without_mail_there_is_no_password_reset(settings, path):
    settings.EMAIL_CONFIG = {}
    assert Client().get(path).status_code == 404
    assert Client().post(path, {"email": "petra@example.com"}).status_code == 404
    assert "Forgot your password" not in Client().get("/accounts/login/").content.decode()


def test_password_change_is_for_signed_in_people_only():
    response = Client().get("/accounts/password_change/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert Client().post("/accounts/password_change/", {}).status_code == 302


def test_wrong_current_passwords_are_throttled_like_sign_ins(person, clock, settings):
    client = _signed_in(person)
    new = {"new_password1": "a brand new passphrase 7", "new_password2": "a brand new passphrase 7"}
    for attempt in range(settings.LOGIN_MAX_FAILURES):
        response = client.post(
            "/accounts/password_change/", {"old_password": f"guess-{attempt}", **new}
        )
        assert response.status_code == 200
    response = client.post("/accounts/password_change/", {"old_password": PASSWORD, **new})
    assert response.status_code == 429
    assert int(response["Retry-After"]) >= 1
    assert "Too many wrong passwords" in response.content.decode()
    person.refresh_from_db()
    assert person.check_password(PASSWORD)
    clock.now += settings.LOGIN_FAILURE_WINDOW
    response = client.post("/accounts/password_change/", {"old_password": PASSWORD, **new})
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.check_password("a brand new passphrase 7")


def test_with_mail_a_reset_is_offered_sent_and_works(person, settings, mailoutbox, clock):
    settings.EMAIL_CONFIG = MAIL
    assert "Forgot your password" in Client().get("/accounts/login/").content.decode()
    response = Client().post("/accounts/password_reset/", {"email": "Petra@Example.com"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    link = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", mailoutbox[0].body).group(1)
    client = Client()
    form = client.get(link, follow=True)
    assert form.status_code == 200
    response = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "reset passphrase 99", "new_password2": "reset passphrase 99"},
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.check_password("reset passphrase 99")


def test_reset_requests_are_throttled_per_account_and_per_address(
    person, settings, mailoutbox, clock
):
    settings.EMAIL_CONFIG = MAIL
    settings.PASSWORD_RESET_MAX = 3
    for n in range(3):
        client = Client(REMOTE_ADDR=f"198.51.100.{n}")
        assert (
            client.post("/accounts/password_reset/", {"email": "petra@example.com"}).status_code
            == 302
        )
    response = Client(REMOTE_ADDR="198.51.100.9").post(
        "/accounts/password_reset/", {"email": "petra@example.com"}
    )
    assert response.status_code == 429
    assert "Too many password reset requests" in response.content.decode()
    assert len(mailoutbox) == 3
    # One address asking for many accounts (registered or not: the same answers).
    for n in range(3):
        response = Client(REMOTE_ADDR="192.0.2.5").post(
            "/accounts/password_reset/", {"email": f"nobody{n}@example.com"}
        )
        assert response.status_code == 302
    response = Client(REMOTE_ADDR="192.0.2.5").post(
        "/accounts/password_reset/", {"email": "someone-else@example.com"}
    )
    assert response.status_code == 429
    clock.now += settings.LOGIN_FAILURE_WINDOW
    response = Client(REMOTE_ADDR="192.0.2.5").post(
        "/accounts/password_reset/", {"email": "petra@example.com"}
    )
    assert response.status_code == 302
    assert len(mailoutbox) == 4


def test_sign_out_still_works(person):
    client = _signed_in(person)
    assert client.post("/accounts/logout/").status_code == 302
    assert "_auth_user_id" not in client.session
