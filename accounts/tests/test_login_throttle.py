"""Repeated failed sign-ins are refused for a while, on the web sign-in page and the admin's."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "the-right-password-42"
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


def _user(username: str, **extra):
    return get_user_model().objects.create_user(username, password=PASSWORD, **extra)


def _sign_in(username: str, password: str, *, ip: str = "192.0.2.1", path: str = LOGIN, **meta):
    client = Client(REMOTE_ADDR=ip, **meta)
    response = client.post(path, {"username": username, "password": password})
    return response, client


def _signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.mark.parametrize("counter", ["sqlite", "cache"])
def test_five_failures_lock_the_pair_even_with_the_right_password(settings, clock, counter):
    if counter == "cache":
        settings.RATE_LIMIT_DB = ""
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    _user("alice")
    for attempt in range(4):
        response, _ = _sign_in("alice", f"guess-{attempt}", ip="198.51.100.1")
        assert response.status_code == 200
        assert "didn't match" in response.content.decode()
    # The fifth failure reaches the limit: from now on the answer is "wait".
    response, _ = _sign_in("alice", "guess-4", ip="198.51.100.1")
    assert response.status_code == 429
    response, client = _sign_in("alice", PASSWORD, ip="198.51.100.1")
    assert response.status_code == 429
    assert not _signed_in(client)
    assert 1 <= int(response["Retry-After"]) <= 900
    assert "Too many failed sign-ins. Try again in" in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    # Usernames are counted whatever their case.
    assert _sign_in("ALICE", PASSWORD, ip="198.51.100.1")[0].status_code == 429
    # Alice herself, from her own address, is not locked out by that client.
    response, client = _sign_in("alice", PASSWORD, ip="203.0.113.9")
    assert response.status_code == 302
    assert _signed_in(client)

    clock.now += 900  # the window has passed
    response, client = _sign_in("alice", PASSWORD, ip="198.51.100.1")
    assert response.status_code == 302
    assert _signed_in(client)


def test_nobody_can_lock_an_account_out_by_failing_from_elsewhere(clock):
    """Five wrong passwords for ``admin`` used to lock the username for every address."""
    _user("admin", is_staff=True, is_superuser=True)
    for attempt in range(10):
        _sign_in("admin", f"guess-{attempt}", ip=f"198.51.100.{attempt}")
        clock.now += 5  # one attacker address after another, each slot used once
    response, client = _sign_in("admin", PASSWORD, ip="203.0.113.7")
    assert response.status_code == 302
    assert _signed_in(client)


def test_a_username_under_attack_from_many_addresses_is_slowed_down(settings, clock):
    settings.LOGIN_SLOWDOWN_SECONDS = 5
    clock.now = 1_800_000_000.0  # at the start of a slot
    _user("erin")
    for attempt in range(5):
        assert (
            _sign_in("erin", f"guess-{attempt}", ip=f"198.51.100.{attempt}")[0].status_code == 200
        )
    # From now on one attempt per 5-second slot is checked, whoever sends it.
    assert _sign_in("erin", "guess-5", ip="198.51.100.50")[0].status_code == 200
    response, client = _sign_in("erin", PASSWORD, ip="203.0.113.7")
    assert response.status_code == 429
    assert int(response["Retry-After"]) <= 5
    assert "many failed sign-ins from elsewhere" in response.content.decode()
    assert not _signed_in(client)
    clock.now += 5
    response, client = _sign_in("erin", PASSWORD, ip="203.0.113.7")
    assert response.status_code == 302
    assert _signed_in(client)


@pytest.mark.django_db(transaction=True)
def test_parallel_attempts_cannot_slip_past_the_count(settings, monkeypatch):
    """The count is taken before the slow password hash: ten attempts in flight at once from
    one address reach the password check five times, not ten."""
    import threading
    import time

    from django.contrib.auth import forms as auth_forms

    _user("frank")
    checked = []
    gate = threading.Barrier(10)

    def slow_wrong_password(request=None, **credentials):
        checked.append(credentials["username"])
        time.sleep(0.2)
        return None

    monkeypatch.setattr(auth_forms, "authenticate", slow_wrong_password)
    statuses = []

    def attempt(number):
        client = Client(REMOTE_ADDR="192.0.2.77")
        gate.wait()
        response = client.post(LOGIN, {"username": "frank", "password": f"guess-{number}"})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {200, 429}, statuses
    assert 1 <= len(checked) <= settings.LOGIN_MAX_FAILURES, statuses
    assert statuses.count(429) >= 10 - settings.LOGIN_MAX_FAILURES


def test_five_failures_from_one_address_lock_that_address(settings, clock):
    _user("bob")
    for attempt in range(5):
        _sign_in(f"nobody{attempt}", "guess", ip="192.0.2.50")
    # Not the username's fault: bob is refused from that address, whatever it claims to relay.
    response, client = _sign_in("bob", PASSWORD, ip="192.0.2.50", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert response.status_code == 429
    assert not _signed_in(client)
    # ...and may sign in from anywhere else.
    response, client = _sign_in("bob", PASSWORD, ip="192.0.2.51")
    assert response.status_code == 302
    assert _signed_in(client)


def test_behind_a_proxy_the_address_is_the_one_the_proxy_saw(settings, clock):
    settings.BEHIND_TLS_PROXY = True
    _user("bob")
    for attempt in range(5):
        _sign_in(
            f"nobody{attempt}", "guess", ip="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 7.7.7.7"
        )
    # Same proxy, another client: not locked. The client's own entry (1.1.1.1) is ignored.
    response, _ = _sign_in("bob", PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="1.1.1.1, 8.8.8.8")
    assert response.status_code == 302
    response, _ = _sign_in("bob", PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="9.9.9.9, 7.7.7.7")
    assert response.status_code == 429


def test_a_successful_sign_in_resets_no_one_elses_count(clock):
    _user("alice")
    _user("bob")
    for attempt in range(4):
        _sign_in("alice", f"guess-{attempt}", ip="198.51.100.1")
    # Bob signs in from the same address and from another one: not failures of the address.
    assert _sign_in("bob", PASSWORD, ip="198.51.100.1")[0].status_code == 302
    assert _sign_in("bob", PASSWORD, ip="198.51.100.2")[0].status_code == 302
    # Alice's count and the address's count went on: one more failure locks both.
    assert _sign_in("alice", "guess-5", ip="198.51.100.1")[0].status_code == 429
    assert _sign_in("alice", PASSWORD, ip="198.51.100.1")[0].status_code == 429
    assert _sign_in("bob", PASSWORD, ip="198.51.100.1")[0].status_code == 429
    assert _sign_in("bob", PASSWORD, ip="198.51.100.2")[0].status_code == 302


def test_a_successful_sign_in_clears_its_own_usernames_count(clock):
    _user("carol")
    for attempt in range(4):
        _sign_in("carol", f"typo-{attempt}", ip=f"198.51.100.{attempt}")
    assert _sign_in("carol", PASSWORD, ip="198.51.100.9")[0].status_code == 302
    for attempt in range(4):
        response, _ = _sign_in("carol", f"typo-{attempt}", ip=f"198.51.101.{attempt}")
        assert response.status_code == 200


def test_the_admin_sign_in_is_throttled_too(clock):
    _user("root", is_staff=True, is_superuser=True)
    for attempt in range(4):
        response, _ = _sign_in("root", f"guess-{attempt}", path=ADMIN_LOGIN)
        assert response.status_code == 200
    response, _ = _sign_in("root", "guess-4", path=ADMIN_LOGIN)
    assert response.status_code == 429
    response, client = _sign_in("root", PASSWORD, path=ADMIN_LOGIN)
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert int(response["Retry-After"]) >= 1
    assert not _signed_in(client)
    # The two sign-in pages share the count.
    assert _sign_in("root", PASSWORD)[0].status_code == 429
    clock.now += 900
    response, client = _sign_in("root", PASSWORD, path=ADMIN_LOGIN)
    assert response.status_code == 302
    assert _signed_in(client)


def test_the_admin_refusing_a_non_staff_user_is_not_a_failed_guess(clock):
    _user("rep")
    for _ in range(6):
        response, _ = _sign_in("rep", PASSWORD, path=ADMIN_LOGIN)
        assert response.status_code == 200
    assert _sign_in("rep", PASSWORD)[0].status_code == 302


def test_limits_come_from_settings(settings, clock):
    settings.LOGIN_MAX_FAILURES = 2
    settings.LOGIN_FAILURE_WINDOW = 60
    _user("dave")
    assert _sign_in("dave", "x", ip="192.0.2.1")[0].status_code == 200
    response, _ = _sign_in("dave", "y", ip="192.0.2.1")
    assert response.status_code == 429
    assert int(response["Retry-After"]) <= 60
    assert "1 minute." in response.content.decode()
    clock.now += 60
    assert _sign_in("dave", PASSWORD, ip="192.0.2.1")[0].status_code == 302
