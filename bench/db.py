"""The benchmark's own database: created from scratch each run, on a name that cannot be
another database's (it must contain "bench" and not start with "test")."""

import os
import re
from urllib.parse import urlsplit, urlunsplit

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/psa_bench"
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class UnsafeDatabase(ValueError):
    pass


def database_name(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise UnsafeDatabase(f"The benchmark runs on PostgreSQL only, not {parts.scheme}.")
    name = parts.path.lstrip("/")
    if not _NAME.match(name):
        raise UnsafeDatabase(f"'{name}' is not a plain lower-case database name.")
    if "bench" not in name or name.startswith("test") or name in ("postgres", "psa"):
        raise UnsafeDatabase(
            f"The benchmark drops and recreates its database, so it runs only on a dedicated "
            f"name that contains 'bench' and does not start with 'test' (not '{name}')."
        )
    return name


def with_name(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _admin_connect(url: str):
    import psycopg

    return psycopg.connect(
        with_name(url, "postgres").replace("postgres://", "postgresql://", 1), autocommit=True
    )


def recreate(url: str, *, template: str | None = None) -> None:
    """Drop the benchmark database if it exists and create it empty (or as a copy of
    `template`)."""
    name = database_name(url)
    with _admin_connect(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if template:
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        else:
            admin.execute(f'CREATE DATABASE "{name}"')


def drop(url: str) -> None:
    name = database_name(url)
    with _admin_connect(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def exists(url: str, name: str) -> bool:
    with _admin_connect(url) as admin:
        return bool(
            admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        )


def copy_to(url: str, name: str) -> None:
    """Keep a copy of the freshly built database under `name` (for --reuse-book)."""
    database_name(with_name(url, name))
    with _admin_connect(url) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{database_name(url)}"')


def setup_django(url: str, media_root: str) -> None:
    """Point the project's settings at the benchmark database, and start Django."""
    os.environ["DATABASE_URL"] = url
    os.environ["MEDIA_ROOT"] = media_root
    static_root = os.path.join(media_root, "static")  # whitenoise wants one that exists
    os.makedirs(static_root, exist_ok=True)
    os.environ.setdefault("STATIC_ROOT", static_root)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.pop("CELERY_BROKER_URL", None)  # tasks inline; the bench runs them itself
    import django

    django.setup()
