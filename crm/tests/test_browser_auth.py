"""Signing in and out in a real browser; every page needs a signed-in user."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_sign_in_see_the_pipeline_and_sign_out(signed_in):
    session = signed_in("alice")
    page = session.page
    assert page.get_by_role("heading", name="Your pipeline").is_visible()
    assert page.get_by_text("0 leads in all.").is_visible()
    session.screenshot("home")
    page.get_by_text("alice").click()
    page.get_by_test_id("sign-out").click()
    page.wait_for_url("**/accounts/login/")
    session.go("/")
    assert "/accounts/login/" in page.url
    assert session.console_errors == []


def test_wrong_password_is_refused_with_a_message(browser, live_server, django_user_model):
    django_user_model.objects.create_user("bob", password="the-right-password-1")
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().startswith("Your username and password")
    assert "/accounts/login/" in page.url
    context.close()
