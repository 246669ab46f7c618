"""Signing in to the API: the token endpoint's lockout after repeated wrong passwords
(shared with the sign-in page and the admin, kept in the database), which client address
counts, tokens that expire and are revoked, and the list of one's own tokens."""

import datetime as dt
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from tests.helpers import PASSWORD, free_port, make_user

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "/api/v1/auth/token/"
REVOKE = "/api/v1/auth/token/revoke/"
TOKENS = "/api/v1/auth/tokens/"


def wrong(client, times: int, username: str = "fiona", **headers) -> list[int]:
    return [
        client.post(TOKEN, {"username": username, "password": "guess"}, **headers).status_code
        for _ in range(times)
    ]


def attempts(username: str) -> list[tuple[str, int]]:
    from axes.models import AccessAttempt

    return list(
        AccessAttempt.objects.filter(username=username).values_list(
            "ip_address", "failures_since_start"
        )
    )


def new_token(api, username: str = "fiona", **headers) -> str:
    response = api().post(TOKEN, {"username": username, "password": PASSWORD}, **headers)
    assert response.status_code == 200, response.json()
    return response.json()["token"]


def with_token(api, token: str):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


# --- lockout -----------------------------------------------------------------------------


def test_forty_wrong_passwords_lock_the_token_endpoint_even_for_the_right_one(api, finance):
    codes = wrong(api(), 40)
    assert codes[:4] == [400] * 4, codes
    assert set(codes[4:]) == {429}, codes
    response = api().post(TOKEN, {"username": "fiona", "password": PASSWORD})
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "login_locked"
    assert "15 minutes" in body["detail"] and "administrator" in body["detail"]
    assert int(response["Retry-After"]) > 0
    # The lockout is a row in the database, which every web process reads.
    assert attempts("fiona") == [("127.0.0.1", 41)]  # the right password counts too


def test_a_changed_forwarded_for_header_does_not_escape_the_lockout(api, finance):
    client = api()
    codes = [
        client.post(
            TOKEN,
            {"username": "fiona", "password": "guess"},
            HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
        ).status_code
        for n in range(10)
    ]
    assert codes[4:] == [429] * 6
    response = client.post(
        TOKEN, {"username": "fiona", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="203.0.113.9"
    )
    assert response.status_code == 429 and response.json()["code"] == "login_locked"
    assert attempts("fiona") == [("127.0.0.1", 11)]


def test_behind_a_configured_proxy_the_forwarded_address_counts(api, finance, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    # The proxy appends the address it saw; anything before it is the client's word.
    attacker = {"HTTP_X_FORWARDED_FOR": "10.9.9.9, 198.51.100.7"}
    assert wrong(api(), 6, **attacker)[-1] == 429
    assert attempts("fiona") == [("198.51.100.7", 6)]
    # The same user elsewhere behind the same proxy is not locked out.
    assert new_token(api, HTTP_X_FORWARDED_FOR="203.0.113.20")


def test_a_lockout_concerns_one_username_from_one_address(api, finance, approver):
    assert wrong(api(), 6)[-1] == 429
    # Another user from the same address, and the same user from another address.
    assert new_token(api, "arthur")
    assert new_token(api, REMOTE_ADDR="192.0.2.44")


def test_fewer_failures_than_the_limit_then_the_right_password_start_afresh(api, finance):
    assert wrong(api(), 4) == [400] * 4
    response = api().post(TOKEN, {"username": "fiona", "password": PASSWORD})
    assert response.status_code == 200
    assert not response.cookies  # an API sign-in opens no browser session
    assert attempts("fiona") == []
    assert wrong(api(), 4) == [400] * 4


def test_the_failure_limit_is_a_setting(api, finance, settings):
    settings.AXES_FAILURE_LIMIT = 2
    assert wrong(api(), 3) == [400, 429, 429]


def test_a_lockout_ends_after_the_cool_off(api, finance):
    from axes.models import AccessAttempt

    wrong(api(), 6)
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert new_token(api)


def test_an_administrator_clears_a_lockout_with_the_command(api, finance):
    wrong(api(), 6)
    call_command("axes_reset_username", "fiona")
    assert new_token(api)


def test_an_administrator_clears_a_lockout_in_the_admin(api, finance, administrator):
    from axes.models import AccessAttempt

    wrong(api(), 6)
    admin = Client()
    admin.force_login(administrator)
    attempt = AccessAttempt.objects.get(username="fiona")
    page = admin.get("/admin/axes/accessattempt/")
    assert page.status_code == 200 and b"fiona" in page.content
    deleted = admin.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert new_token(api)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_lockout_holds_across_web_processes(tmp_path):
    """Two gunicorn servers on the same database, the guesses alternating between them
    (each with a new X-Forwarded-For): the lockout is counted once for both."""
    import http.client
    import json

    make_user("fiona")
    db = connection.settings_dict
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "DATABASE_CONN_MAX_AGE": "0",
        "DEBUG": "true",
    }
    ports = [free_port(), free_port()]
    log = tmp_path / "gunicorn.log"
    servers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi:application",
                "--workers=1",
                f"--bind=127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for port in ports
    ]

    def post(port: int, password: str) -> tuple[int, dict]:
        for _ in range(150):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request(
                    "POST",
                    TOKEN,
                    json.dumps({"username": "fiona", "password": password}),
                    {"Content-Type": "application/json", "X-Forwarded-For": secrets.token_hex(4)},
                )
                response = conn.getresponse()
                return response.status, json.loads(response.read())
            except ConnectionRefusedError:
                time.sleep(0.1)
        raise AssertionError(log.read_text())

    try:
        codes = [post(ports[n % 2], "guess")[0] for n in range(12)]
        answers = [post(port, PASSWORD) for port in ports]
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=20)
    assert codes[:4] == [400] * 4 and codes[4:] == [429] * 8, log.read_text()
    assert [(status, body["code"]) for status, body in answers] == [(429, "login_locked")] * 2


# --- proxies -------------------------------------------------------------------------------


def _settings_in_production(**env: str) -> str:
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    inherited.pop("TRUSTED_PROXY_COUNT", None)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings; "
            "print(getattr(settings, 'SECURE_PROXY_SSL_HEADER', None), "
            "settings.TRUSTED_PROXY_COUNT, settings.AXES_FAILURE_LIMIT, "
            "settings.AXES_COOLOFF_TIME, settings.TOKEN_LIFETIME)",
        ],
        cwd=ROOT,
        env={
            **inherited,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "ALLOWED_HOSTS": "psa.example.com",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_forwarded_headers_are_trusted_only_behind_a_configured_proxy():
    assert _settings_in_production() == "None 0 5 0:15:00 30 days, 0:00:00"
    configured = _settings_in_production(
        TRUSTED_PROXY_COUNT="1",
        AXES_FAILURE_LIMIT="8",
        AXES_COOLOFF="60",
        TOKEN_LIFETIME_HOURS="12",
    )
    assert configured == "('HTTP_X_FORWARDED_PROTO', 'https') 1 8 1:00:00 12:00:00"


def test_deployment_checks_pass_behind_a_proxy():
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **inherited,
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(60),
            "ALLOWED_HOSTS": "psa.example.com",
            "TRUSTED_PROXY_COUNT": "1",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- tokens ------------------------------------------------------------------------------------


def test_the_token_endpoint_answers_as_documented_and_stores_no_key(api, finance):
    from core.tokens import ApiToken

    response = api().post(TOKEN, {"username": "fiona", "password": PASSWORD})
    assert response.status_code == 200 and list(response.json()) == ["token"]
    key = response.json()["token"]
    assert with_token(api, key).get("/api/v1/accounting/batches/").status_code == 200
    stored = ApiToken.objects.get(user=finance)
    assert key not in {str(value) for value in stored.__dict__.values()}


def test_a_token_expires_after_its_lifetime(api, finance, settings):
    from core.tokens import ApiToken

    settings.TOKEN_LIFETIME = dt.timedelta(hours=2)
    key = new_token(api)
    token = ApiToken.objects.get(user=finance)
    lifetime = token.expires - token.created
    assert dt.timedelta(hours=2) - dt.timedelta(seconds=5) < lifetime <= dt.timedelta(hours=2)
    client = with_token(api, key)
    assert client.get("/api/v1/companies/").status_code == 200
    ApiToken.objects.update(expires=timezone.now() - dt.timedelta(seconds=1))
    response = client.get("/api/v1/companies/")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "token_expired"
    assert "expired" in body["detail"] and TOKEN in body["detail"]
    assert response["WWW-Authenticate"] == "Token"


def test_changing_the_password_revokes_the_tokens(api, finance):
    key = new_token(api)
    finance.set_password("a-new-secret-9")
    finance.save()
    response = with_token(api, key).get("/api/v1/companies/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_an_administrator_setting_a_password_revokes_the_tokens(api, finance, administrator):
    key = new_token(api)
    admin = Client()
    admin.force_login(administrator)
    response = admin.post(
        f"/admin/auth/user/{finance.pk}/password/",
        {"password1": "a-new-secret-9", "password2": "a-new-secret-9", "usable_password": "true"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert with_token(api, key).get("/api/v1/companies/").status_code == 401


def test_deactivating_a_user_revokes_the_tokens(api, finance):
    from core.tokens import ApiToken

    key = new_token(api)
    finance.is_active = False
    finance.save()
    assert not ApiToken.objects.filter(user=finance).exists()
    User.objects.filter(pk=finance.pk).update(is_active=True)
    assert with_token(api, key).get("/api/v1/companies/").status_code == 401


def test_a_password_hash_upgrade_at_sign_in_keeps_the_tokens(api, finance, settings):
    from django.contrib.auth.hashers import make_password

    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ]
    key = new_token(api)
    User.objects.filter(pk=finance.pk).update(
        password=make_password(PASSWORD, hasher="pbkdf2_sha1")
    )
    assert (
        Client().post("/accounts/login/", {"username": "fiona", "password": PASSWORD}).status_code
        == 302
    )
    assert User.objects.get(pk=finance.pk).password.startswith("md5$")  # upgraded
    assert with_token(api, key).get("/api/v1/companies/").status_code == 200


def test_revoking_the_token_presented(api, finance):
    key = new_token(api)
    client = with_token(api, key)
    response = client.post(REVOKE)
    assert response.status_code == 204
    response = client.get("/api/v1/companies/")
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_revoking_another_of_ones_own_tokens_by_id(api, finance):
    laptop, server = new_token(api), new_token(api)
    client = with_token(api, laptop)
    listed = client.get(TOKENS).json()["results"]
    server_id = next(row["id"] for row in listed if server.startswith(row["prefix"]))
    assert client.post(REVOKE, {"id": server_id}).status_code == 204
    assert with_token(api, server).get("/api/v1/companies/").status_code == 401
    assert client.get("/api/v1/companies/").status_code == 200


def test_no_one_revokes_someone_elses_token(api, finance, approver):
    from core.tokens import ApiToken

    theirs = new_token(api, "arthur")
    their_id = ApiToken.objects.get(user=approver).pk
    response = with_token(api, new_token(api)).post(REVOKE, {"id": their_id})
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert with_token(api, theirs).get("/api/v1/companies/").status_code == 200


def test_revoking_by_session_needs_an_id(api, finance):
    client = api()
    client.force_login(finance)
    response = client.post(REVOKE, {})
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    assert "id" in response.json()["fields"]


def test_the_list_shows_only_ones_own_tokens_without_their_keys(api, finance, approver):
    first, second = new_token(api), new_token(api)
    new_token(api, "arthur")
    response = with_token(api, second).get(TOKENS)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 2 and response.json()["count"] == 2
    assert {row["prefix"] for row in rows} == {first[:8], second[:8]}
    assert [row["current"] for row in rows] == [True, False]  # newest first
    assert set(rows[0]) == {"id", "prefix", "created", "last_used", "expires", "current"}
    assert rows[0]["last_used"] is not None and rows[1]["last_used"] is None
    assert first not in response.content.decode() and second not in response.content.decode()


def test_the_new_endpoints_refuse_anonymous_callers(api):
    for method, path in (("post", REVOKE), ("get", TOKENS)):
        response = getattr(api(), method)(path)
        assert response.status_code == 401 and response.json()["code"] == "not_authenticated"


def test_tokens_issued_before_they_expired_keep_working_as_digests(api, finance):
    """The migration to expiring tokens takes over the plain-text tokens of the earlier
    token table: they keep working, and their plain text is gone."""
    import importlib
    from types import SimpleNamespace

    from django.apps import apps

    migration = importlib.import_module("core.migrations.0003_api_tokens")
    key = secrets.token_hex(20)
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamptz NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [key, finance.pk])
    migration.import_earlier_tokens(apps, SimpleNamespace(connection=connection))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone() == (0,)
    assert with_token(api, key).get("/api/v1/companies/").status_code == 200
