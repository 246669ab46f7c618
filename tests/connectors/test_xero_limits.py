"""Xero's limits per organisation kept by every process of the PSA together: two
processes calling the local Xero at once stay within the calls a minute and the calls
in flight between them, and Xero never answers 429."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.db import connection as db_connection

from accounting.connectors import xero as xero_module
from accounting.models import XeroCall, XeroConnection
from accounting.secrets import encrypt
from core.errors import ApplicationError
from tests.connectors.xero_fake import TENANT_ID, FakeXero

ROOT = Path(__file__).resolve().parents[2]

# A process of the PSA: `threads` threads, each making `calls` calls to Xero.
CALLER = textwrap.dedent(
    """
    import sys, threading
    import django
    django.setup()
    from django.db import connection
    from accounting.connectors.xero import XeroClient

    threads, calls = int(sys.argv[1]), int(sys.argv[2])
    failures = []

    def work():
        try:
            client = XeroClient()
            for _ in range(calls):
                client.organisation_name()
        except Exception as error:
            failures.append(repr(error))
        finally:
            connection.close()

    running = [threading.Thread(target=work) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    print("\\n".join(failures))
    sys.exit(1 if failures else 0)
    """
)


@pytest.fixture
def xero(settings):
    fake = FakeXero().start()
    key = Fernet.generate_key().decode()
    settings.SECRETS_ENCRYPTION_KEY = key
    for name, value in fake.settings_env().items():
        setattr(settings, name, value)
    XeroConnection.objects.create(
        pk=1,
        auth=XeroConnection.CUSTOM,
        client_id=fake.client_id,
        client_secret=encrypt(fake.client_secret),
        tenant_id=TENANT_ID,
    )
    db = db_connection.settings_dict
    fake.env = {
        **os.environ,
        **fake.settings_env(),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "SECRETS_ENCRYPTION_KEY": key,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    xero_module._limits.clear()
    yield fake
    fake.stop()
    xero_module._limits.clear()
    assert fake.violations == [], "\n".join(fake.violations)


def run_processes(env: dict, *, processes: int, threads: int, calls: int) -> None:
    started = [
        subprocess.Popen(
            [sys.executable, "-c", CALLER, str(threads), str(calls)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(processes)
    ]
    for process in started:
        out, _ = process.communicate(timeout=180)
        assert process.returncode == 0, out.decode()[-3000:]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_processes_keep_to_the_calls_a_minute_between_them(xero):
    xero.minute_limit, xero.minute_seconds = 6, 4.0
    env = {**xero.env, "XERO_CALLS_A_MINUTE": "6", "XERO_MINUTE_SECONDS": "4"}

    run_processes(env, processes=2, threads=1, calls=8)

    assert xero.rate_limited == 0  # each process alone would have made 6 in the first 4 s
    assert xero.day_calls == 16
    assert XeroCall.objects.filter(tenant_id=TENANT_ID).count() == 16


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_processes_keep_to_the_calls_in_flight_between_them(xero):
    xero.delay = 0.5  # each call takes a while: the eight threads' calls overlap

    run_processes(xero.env, processes=2, threads=4, calls=4)

    assert xero.day_calls == 32
    assert xero.rate_limited == 0  # Xero refuses a sixth call at once
    assert 1 < xero.most_in_flight <= 5


@pytest.mark.django_db
def test_the_day_limit_counts_every_processs_calls_and_stops_with_the_time(xero, settings):
    from datetime import timedelta

    from django.utils import timezone

    from accounting.connectors.xero import XeroClient

    settings.XERO_CALLS_A_DAY = 3
    earlier = timezone.now() - timedelta(hours=3)
    XeroCall.objects.bulk_create(XeroCall(tenant_id=TENANT_ID, at=earlier) for _ in range(3))
    with pytest.raises(ApplicationError) as stopped:
        XeroClient().organisation_name()
    assert stopped.value.code == "package_rate_limited"
    assert "Xero's day limit of calls is reached until" in stopped.value.message
    assert xero.day_calls == 0  # nothing was sent to Xero
