"""The embedded default of `./bin/run`: on a fresh SQLite file the migrations apply,
the demo loads (batches created, sent, one deleted, records edited after the delete),
and the clerk's main screens answer. Run in a process of its own, since the suite's
own database is PostgreSQL."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCREENS = """
import django
django.setup()
from django.contrib.auth import get_user_model
from django.test import Client
from accounting.models import BatchStatus, GLBatch
from invoicing.models import Invoice

client = Client()
client.force_login(get_user_model().objects.get(username="finance"))
urls = [f"/finance/accounting-interface/unposted/{kind}/"
        for kind in ("invoice", "expense", "freight", "product")]
urls += [f"/finance/accounting-interface/batches/{pk}/"
         for pk in GLBatch.objects.values_list("pk", flat=True)]
urls += [f"/finance/invoices/{pk}/" for pk in Invoice.objects.values_list("pk", flat=True)]
assert GLBatch.objects.filter(status=BatchStatus.DELETED).exists()
for url in urls:
    status = client.get(url, HTTP_HOST="127.0.0.1").status_code
    assert status == 200, (url, status)
print(len(urls), "screens")
"""


def _run(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return done.stdout


def test_the_embedded_default_migrates_loads_the_demo_and_shows_its_screens(tmp_path):
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_URL", "CELERY_", "REDIS"))
    }
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    _run(["manage.py", "migrate", "--noinput"], env)
    assert "Demo data loaded" in _run(["manage.py", "demo", "--if-empty"], env)
    assert "screens" in _run(["-c", SCREENS], env)
