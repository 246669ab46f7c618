import pytest
from django.contrib.auth.models import Group


@pytest.mark.django_db
def test_roles_exist_with_their_workflow_permissions():
    finance = Group.objects.get(name="Finance")
    approver = Group.objects.get(name="Approver")
    staff = Group.objects.get(name="Staff")
    finance_perms = set(finance.permissions.values_list("codename", flat=True))
    assert {"transfer_glbatch", "unbatch_record", "close_glbatch"} <= finance_perms
    assert "reopen_glbatch" not in finance_perms
    assert approver.permissions.filter(codename="approve_expensesheet").exists()
    assert not staff.permissions.filter(codename="approve_expensesheet").exists()


def test_production_settings_pass_the_deployment_checks():
    import os
    import secrets
    import subprocess
    import sys
    from pathlib import Path

    # A production process runs without the browser tests' async-unsafe allowance.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(60),
        "ALLOWED_HOSTS": "psa.example.com",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=Path(__file__).resolve().parents[1],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.django_db
def test_every_connection_plans_server_side_cursors_for_reading_every_row():
    """The product's server-side cursors (a transfer's, a batch's postings) read every
    row; planned for the first tenth, a batch of recent invoices read its lines by
    merging the whole line index."""
    from django.db import connections

    fresh = connections.create_connection("default")  # as a worker opens one
    try:
        with fresh.cursor() as cursor:
            cursor.execute("SHOW cursor_tuple_fraction")
            assert cursor.fetchone()[0] == "1"
    finally:
        fresh.close()
