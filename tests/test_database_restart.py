"""A web process keeps its database connection between requests; when the database
restarts (or drops that connection), the next request must be answered, not fail with a
500 on the dead connection."""

import http.client
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from core.roles import FINANCE
from tests.helpers import PASSWORD, free_port, make_user

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_request_after_the_database_dropped_the_connection_is_answered(tmp_path):
    make_user("fiona", FINANCE)
    db = connection.settings_dict
    port, log = free_port(), tmp_path / "gunicorn.log"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--workers=1",
            f"--bind=127.0.0.1:{port}",
        ],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "DATABASE_CONN_MAX_AGE": "600",  # the worker keeps its connection
            "DEBUG": "true",
        },
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def call(method: str, path: str, body: dict | None = None, token: str = "") -> tuple:
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Token {token}"
        for _ in range(200):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
                conn.request(method, path, json.dumps(body) if body else None, headers)
                response = conn.getresponse()
                return response.status, response.read()
            except ConnectionRefusedError:
                time.sleep(0.1)
        raise AssertionError(log.read_text())

    try:
        status, body = call(
            "POST", "/api/v1/auth/token/", {"username": "fiona", "password": PASSWORD}
        )
        assert status == 200, body
        token = json.loads(body)["token"]
        assert call("GET", "/api/v1/accounting/batches/", token=token)[0] == 200
        # What a database restart does to every connection the web process kept.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchone()[0] >= 1

        status, body = call("GET", "/api/v1/accounting/batches/", token=token)
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert status == 200, body[:500]
