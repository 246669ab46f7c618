"""A real Celery worker on a real Redis broker, against the test database."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app as celery_app

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]


WORKER = [
    "worker",
    "--pool=solo",
    "--concurrency=1",
    "--loglevel=INFO",
    "--without-gossip",
    "--without-mingle",
    "--without-heartbeat",
]


class Worker:
    """A Celery worker process (or, with `command`, another celery command: the beat)."""

    def __init__(self, env: dict[str, str], log: Path, command: list[str] = WORKER) -> None:
        self.env, self.log, self.command, self.process = env, log, command, None

    def start(self) -> "Worker":
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *self.command],
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    def kill(self) -> None:
        """SIGKILL the worker: no clean shutdown, no acknowledgement."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def broker():
    """Send tasks through Redis instead of running them inline."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    saved = {
        key: celery_app.conf[key]
        for key in ("task_always_eager", "broker_url", "broker_transport_options")
    }
    celery_app.conf.update(
        task_always_eager=False,
        broker_url=REDIS_URL,
        broker_transport_options={"visibility_timeout": 5},
    )
    reset_connections()
    yield client
    celery_app.conf.update(saved)
    reset_connections()
    client.flushdb()


def reset_connections() -> None:
    """Drop pooled broker connections so the next task uses the current broker_url."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture
def workers(broker, tmp_path, settings_media):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "CELERY_RESTORE_INTERVAL": "1",
        "MEDIA_ROOT": str(settings_media),
        "DATABASE_CONN_MAX_AGE": "0",
        # A transfer's lease: short, so that a killed worker's transfer is soon
        # interrupted (renewed every third of it while the worker lives).
        "TRANSFER_LEASE_SECONDS": "4",
        "TRANSFER_SWEEP_SECONDS": "1",
    }
    started: list[Worker] = []

    def start(*, beat: bool = False, processes: int = 0, **overrides: str) -> Worker:
        """A worker; `beat=True`: the beat that sends the transfer sweep instead;
        `processes`: a worker of that many processes (prefork) instead of one.
        `overrides`: environment variables for this process."""
        command = (
            ["beat", "--loglevel=INFO", f"--schedule={tmp_path / 'beat-schedule'}"]
            if beat
            else [*WORKER[:1], "--pool=prefork", f"--concurrency={processes}", *WORKER[3:]]
            if processes
            else WORKER
        )
        log = tmp_path / ("beat.log" if beat else "worker.log")
        worker = Worker({**env, **overrides}, log, command).start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def settings_media(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
