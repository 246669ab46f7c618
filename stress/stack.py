"""The private stack every stress scenario runs against, started and stopped here.

A PostgreSQL cluster of its own (Debian's initdb and pg_ctl, as the postgres user, in a
temporary folder, on a free port), a Redis of its own (no persistence), the product
migrated with a generated book, gunicorn with 4 workers and Celery worker(s) (and Celery
beat when the product has a beat schedule), all with production settings (DEBUG off,
SECRET_KEY set, ALLOWED_HOSTS=127.0.0.1) and all on 127.0.0.1. Everything started is
stopped at the end, on an error or on Ctrl-C too. Nothing here touches the shared
PostgreSQL on 5432 or the shared Redis on 6379.
"""

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "psa_stress"
PYTHON = sys.executable


class StackError(RuntimeError):
    pass


def free_port(preferred: int) -> int:
    """`preferred` when nothing listens there, else a port the kernel picks."""
    for port in (preferred, 0):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise StackError("no free port on 127.0.0.1")


def wait_until(check, *, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except Exception:
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise StackError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise StackError(f"PostgreSQL's {name} is not installed (/usr/lib/postgresql/*/bin)")
    return found[-1]


class Process:
    """A child process in a session of its own (so that its children go with it)."""

    def __init__(self, name: str, argv: list[str], *, env: dict, log: Path, cwd=ROOT) -> None:
        self.name, self.argv, self.env, self.log, self.cwd = name, argv, env, log, cwd
        self.popen: subprocess.Popen | None = None

    def start(self) -> "Process":
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean shutdown, no acknowledgement."""
        if self.popen is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 20) -> None:
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        # Whatever the group left behind (a prefork child) goes too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)


class Stack:
    """Start with `with Stack(...) as stack:`; everything is stopped on the way out."""

    def __init__(
        self,
        *,
        workdir: Path | None = None,
        keep: bool = False,
        worker_concurrency: int = 2,
        visibility_timeout: int | None = None,
        restore_interval: int | None = None,
        lease_seconds: int = 5,
        sweep_seconds: float = 1,
        extra_env: dict | None = None,
        say=print,
    ) -> None:
        self.keep = keep
        self.say = say
        self.dir = Path(workdir or tempfile.mkdtemp(prefix="psa-stress-"))
        self.dir.mkdir(parents=True, exist_ok=True)
        self.logs = self.dir / "logs"
        self.logs.mkdir(exist_ok=True)
        self.media = self.dir / "media"
        self.ledgers = self.dir / "ledgers"
        self.static = self.dir / "static"
        for folder in (self.media, self.ledgers, self.static):
            folder.mkdir(exist_ok=True)
        self.pgdata = self.dir / "pg"
        self.pgsocket = self.dir / "pgsocket"
        self.worker_concurrency = worker_concurrency
        self.visibility_timeout = visibility_timeout
        self.restore_interval = restore_interval
        self.lease_seconds, self.sweep_seconds = lease_seconds, sweep_seconds
        self.extra_env = extra_env or {}
        self.pg_port = self.redis_port = self.web_port = None
        self.redis: Process | None = None
        self.web: Process | None = None
        self.workers: list[Process] = []
        self.beat: Process | None = None
        self.pg_started = False
        self.has_beat_schedule = False
        self._old_handlers = {}

    # --- lifecycle ------------------------------------------------------------------

    def __enter__(self) -> "Stack":
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._old_handlers[signum] = signal.signal(signum, self._interrupted)
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *error) -> None:
        self.stop()
        for signum, handler in self._old_handlers.items():
            signal.signal(signum, handler)

    @staticmethod
    def _interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    def start(self) -> None:
        self.say(f"Stack folder: {self.dir}")
        self.start_postgres()
        self.start_redis()
        self.env = self._product_env()
        self.manage("migrate", "--verbosity=0")
        self.manage("collectstatic", "--noinput", "--verbosity=0")
        self.has_beat_schedule = self._beat_schedule_present()

    def start_services(self) -> None:
        """gunicorn, the worker(s) and beat: after the book is built."""
        self.start_web()
        self.start_worker()
        if self.has_beat_schedule:
            self.start_beat()

    def stop(self) -> None:
        if getattr(self, "_conn", None) is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        for process in [self.beat, *self.workers, self.web, self.redis]:
            if process is not None:
                with contextlib.suppress(Exception):
                    process.stop()
        if self.pg_started:
            with contextlib.suppress(Exception):
                self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
            self.pg_started = False
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    # --- PostgreSQL -----------------------------------------------------------------

    def _as_postgres(self) -> dict:
        user = pwd.getpwnam("postgres") if os.geteuid() == 0 else None
        return {"user": user.pw_uid, "group": user.pw_gid} if user else {}

    def _pg_ctl(self, *args: str) -> None:
        subprocess.run(
            [_pg_bin("pg_ctl"), "-D", str(self.pgdata), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            **self._as_postgres(),
        )

    def start_postgres(self) -> None:
        ids = self._as_postgres()
        self.pgdata.mkdir(exist_ok=True)
        self.pgsocket.mkdir(exist_ok=True)
        if ids:
            for path in (self.dir, self.pgdata, self.pgsocket, self.logs):
                os.chown(path, ids["user"], ids["group"])
            os.chmod(self.dir, 0o755)
            os.chmod(self.logs, 0o777)
        os.chmod(self.pgdata, 0o700)
        subprocess.run(
            [
                _pg_bin("initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            cwd="/",
            **ids,
        )
        self.pg_port = free_port(5433)
        self._pg_start()
        with psycopg.connect(self.admin_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{DATABASE}"')
        self.say(f"PostgreSQL {self.pg_version()} on 127.0.0.1:{self.pg_port}")

    def _pg_start(self) -> None:
        options = (
            f"-p {self.pg_port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.pgsocket} -c max_connections=200"
        )
        self._pg_ctl(
            "start", "-w", "-t", "60", "-l", str(self.logs / "postgres.log"), "-o", options
        )
        self.pg_started = True

    def restart_postgres(self) -> None:
        """`pg_ctl restart -m fast`: every connection is cut, the cluster comes back."""
        if getattr(self, "_conn", None) is not None:
            self._conn.close()
        self._pg_ctl("stop", "-m", "fast", "-w", "-t", "60")
        self.pg_started = False
        self._pg_start()

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/postgres"

    @property
    def database_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/{DATABASE}"

    def sql(self, query: str, params=None) -> list[tuple]:
        """One statement in autocommit, on the harness's own connection, made again when
        a fault (a restart) has cut it."""
        for attempt in range(2):
            if getattr(self, "_conn", None) is None or self._conn.closed:
                self._conn = psycopg.connect(self.database_url, autocommit=True)
            try:
                cursor = self._conn.execute(query, params)
                return cursor.fetchall() if cursor.description else []
            except psycopg.OperationalError:
                self._conn.close()
                self._conn = None
                if attempt:
                    raise
        return []

    def pg_version(self) -> str:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            return conn.execute("SHOW server_version").fetchone()[0]

    # --- Redis ----------------------------------------------------------------------

    def start_redis(self) -> None:
        if self.redis_port is None:
            self.redis_port = free_port(6380)
        self.redis = Process(
            "redis",
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            env=dict(os.environ),
            log=self.logs / "redis.log",
        ).start()
        wait_until(self.redis_ping, timeout=20, what="Redis")

    def redis_ping(self) -> bool:
        import redis

        return bool(redis.Redis(port=self.redis_port, host="127.0.0.1").ping())

    def stop_redis(self) -> None:
        self.redis.stop()

    @property
    def broker_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}/0"

    # --- the product ----------------------------------------------------------------

    def _product_env(self) -> dict:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_", "CELERY_", "TEST_", "DJANGO_", "PSA_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DEBUG="false",
            SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1",
            SECURE_SSL_REDIRECT="false",  # plain HTTP on the loopback, no TLS proxy
            DATABASE_URL=self.database_url,
            DATABASE_CONN_MAX_AGE="60",
            CELERY_BROKER_URL=self.broker_url,
            # The transfer lease and the beat's sweep, shortened so that a hundred kills
            # recover in minutes (the product's defaults: 120 s and 60 s).
            TRANSFER_LEASE_SECONDS=str(self.lease_seconds),
            TRANSFER_SWEEP_SECONDS=str(self.sweep_seconds),
            MEDIA_ROOT=str(self.media),
            STATIC_ROOT=str(self.static),
            LEDGER_ROOT=str(self.ledgers),
            LOG_LEVEL="INFO",
            PYTHONUNBUFFERED="1",
        )
        # The broker's redelivery: the product's defaults unless given.
        if self.visibility_timeout is not None:
            env["CELERY_VISIBILITY_TIMEOUT"] = str(self.visibility_timeout)
        if self.restore_interval is not None:
            env["CELERY_RESTORE_INTERVAL"] = str(self.restore_interval)
        env.update(self.extra_env)
        return env

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [PYTHON, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            raise StackError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def _beat_schedule_present(self) -> bool:
        out = subprocess.run(
            [
                PYTHON,
                "-c",
                "from config.celery import app; print(len(app.conf.beat_schedule or {}))",
            ],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        return out.returncode == 0 and out.stdout.strip() not in ("", "0")

    def start_web(self) -> None:
        self.web_port = free_port(8400)
        self.web = Process(
            "gunicorn",
            [
                str(Path(PYTHON).with_name("gunicorn")),
                "config.wsgi:application",
                "--workers",
                "4",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--timeout",
                "60",
                "--graceful-timeout",
                "10",
            ],
            env=self.env,
            log=self.logs / "gunicorn.log",
        ).start()

        def up() -> bool:
            import requests

            return requests.get(f"{self.base_url}/api/v1/", timeout=5).status_code < 500

        wait_until(up, timeout=60, what="gunicorn")

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def start_worker(self, concurrency: int | None = None) -> Process:
        worker = Process(
            "celery worker",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                f"--concurrency={concurrency or self.worker_concurrency}",
                "--loglevel=INFO",
                "--without-gossip",
                "--without-mingle",
                f"--hostname=stress{len(self.workers)}@%h",
            ],
            env=self.env,
            log=self.logs / "worker.log",
        ).start()
        self.workers.append(worker)
        return worker

    @property
    def worker(self) -> Process | None:
        live = [w for w in self.workers if w.alive()]
        return live[-1] if live else None

    def start_beat(self) -> None:
        self.beat = Process(
            "celery beat",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "config",
                "beat",
                "--loglevel=INFO",
                f"--schedule={self.dir / 'celerybeat-schedule'}",
            ],
            env=self.env,
            log=self.logs / "beat.log",
        ).start()

    def restart_web(self) -> None:
        self.web.stop()
        self.start_web()
