"""The sign-in page and the admin's sign-in lock a username out from an address after
repeated wrong passwords, say so on the page, and share the lockout with the API."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client

from tests.helpers import PASSWORD

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/?next=/admin/"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def guesses(client: Client, url: str, username: str, times: int, **headers) -> list[int]:
    return [
        client.post(url, {"username": username, "password": "guess"}, **headers).status_code
        for _ in range(times)
    ]


def signed_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_forty_wrong_passwords_lock_the_sign_in_page_even_for_the_right_one(client, finance):
    codes = guesses(client, LOGIN, "fiona", 40)
    assert codes[:4] == [200] * 4 and set(codes[4:]) == {429}, codes
    page = client.post(LOGIN, {"username": "fiona", "password": PASSWORD})
    assert page.status_code == 429
    assert not signed_in(client)
    text = page.content.decode()
    assert "Too many failed sign-ins" in text
    assert "15 minutes" in text and "administrator" in text
    # The page is the sign-in page with its form, not a bare error.
    assert 'name="password"' in text and "<title>" in text


def test_the_first_wrong_passwords_say_only_that_they_did_not_match(client, finance):
    page = client.post(LOGIN, {"username": "fiona", "password": "guess"})
    assert page.status_code == 200
    assert "did not match" in page.content.decode()
    assert "Too many" not in page.content.decode()


def test_a_right_password_before_the_limit_signs_in(client, finance):
    guesses(client, LOGIN, "fiona", 4)
    response = client.post(LOGIN, {"username": "fiona", "password": PASSWORD})
    assert response.status_code == 302 and signed_in(client)


def test_forty_wrong_passwords_lock_the_admin_sign_in(client, db):
    User.objects.create_superuser("root", password=PASSWORD)
    codes = guesses(client, ADMIN_LOGIN, "root", 40)
    assert codes[:4] == [200] * 4 and set(codes[4:]) == {429}, codes
    page = client.post(ADMIN_LOGIN, {"username": "root", "password": PASSWORD})
    assert page.status_code == 429 and "Too many failed sign-ins" in page.content.decode()
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302  # still asked to sign in


def test_a_changed_forwarded_for_header_does_not_escape_the_lockout(client, finance):
    codes = [
        client.post(
            LOGIN,
            {"username": "fiona", "password": "guess"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(8)
    ]
    assert codes[4:] == [429] * 4
    page = client.post(
        LOGIN, {"username": "fiona", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert page.status_code == 429 and not signed_in(client)


def test_the_sign_in_page_and_the_api_share_the_lockout(client, finance):
    guesses(client, LOGIN, "fiona", 5)
    response = Client().post(
        "/api/v1/auth/token/",
        {"username": "fiona", "password": PASSWORD},
        content_type="application/json",
    )
    assert response.status_code == 429 and response.json()["code"] == "login_locked"


@pytest.mark.parametrize("how", ["command", "admin"])
def test_an_administrator_unlocks_a_locked_out_user(client, finance, how):
    from axes.models import AccessAttempt

    guesses(client, LOGIN, "fiona", 6)
    if how == "command":
        call_command("axes_reset_username", "fiona")
    else:
        admin = Client()
        admin.force_login(User.objects.create_superuser("root", password=PASSWORD))
        attempt = AccessAttempt.objects.get(username="fiona")
        admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert not AccessAttempt.objects.exists()
    response = client.post(LOGIN, {"username": "fiona", "password": PASSWORD})
    assert response.status_code == 302 and signed_in(client)
