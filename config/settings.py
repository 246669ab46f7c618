"""Settings, read from the environment.

With nothing set the product runs embedded: a SQLite file next to the code and Celery
tasks executed inline. Production sets DATABASE_URL (PostgreSQL), CELERY_BROKER_URL,
SECRET_KEY, DEBUG=false and ALLOWED_HOSTS.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE as CSP_NONE
from csp.constants import SELF as CSP_SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-for-debug-mode"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "core",
    "config",
    "accounting",
    "cwapi",
    "invoicing",
    "expenses",
    "procurement",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # NUL characters in query strings, and API bodies over the upload limit.
    "core.middleware.RequestGuardMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last: turns a sign-in refused for a lockout into its page or API answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        # A kept connection is checked before a request uses it, so the first request
        # after a database restart is answered instead of failing on the dead one.
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Sign-in lockout (django-axes, its state in the database so every web process sees it):
# AXES_FAILURE_LIMIT wrong passwords for one username from one client address lock that
# combination out for AXES_COOLOFF minutes (counted from the last attempt). Locking the
# combination, not the username alone, keeps an attacker from locking a user out
# everywhere; not the address alone, so that a shared office address is not locked out
# by one person's typos. The sign-in page, the admin's and POST /api/v1/auth/token/ all
# count. An administrator clears a lockout with `manage.py axes_reset_username NAME` or
# by deleting the row under Axes > Access attempts in the admin.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "core.backends.PermissionBackend",  # reads a user's permissions in one query
    "django.contrib.auth.backends.ModelBackend",
]
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("AXES_COOLOFF", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"
AXES_CLIENT_IP_CALLABLE = "core.lockout.client_ip"
AXES_VERBOSE = False
# Client addresses: REMOTE_ADDR, unless the server runs behind TRUSTED_PROXY_COUNT
# reverse proxies that each append to X-Forwarded-For (and set X-Forwarded-Proto); only
# then are those headers believed.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
# API tokens expire this long after they are issued (30 days, the default lifetime of a
# GitHub token: an unattended integration signs in again once a month at most, and a
# leaked token is worthless after a month); a password change or deactivation revokes
# a user's tokens at once.
TOKEN_LIFETIME = timedelta(hours=float(os.environ.get("TOKEN_LIFETIME_HOURS", str(24 * 30))))

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
# English only: dates and messages skip the translation machinery on every request.
USE_I18N = False
USE_TZ = True
# The book's currency (ISO 4217 code), shown with amounts; the PSA keeps one currency.
BOOK_CURRENCY = os.environ.get("BOOK_CURRENCY", "USD").strip().upper() or "USD"

STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "var" / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "var" / "media"))
MEDIA_URL = "media/"
# The one folder connectors may write in: setup names a ledger relative to it, and the
# ledger (and its lock file) must resolve inside it. Ledgers larger than the limit are
# refused before they are read.
LEDGER_ROOT = Path(os.environ.get("LEDGER_ROOT", BASE_DIR / "var" / "ledgers"))
LEDGER_MAX_BYTES = int(os.environ.get("LEDGER_MAX_BYTES", 512 * 1024 * 1024))
# An export of the package uploaded to the books check larger than this is refused.
BOOKS_CHECK_UPLOAD_MAX_BYTES = int(os.environ.get("BOOKS_CHECK_UPLOAD_MAX_BYTES", 64 * 1024 * 1024))
# API paths that take a file, and the largest request body each accepts (the file and
# the form around it); every other API request is held to DATA_UPLOAD_MAX_MEMORY_SIZE.
API_FILE_UPLOADS = {
    "/api/v1/accounting/reconciliations/upload/": BOOKS_CHECK_UPLOAD_MAX_BYTES + 64 * 1024,
}
# A GnuCash book kept in PostgreSQL (setup's book_database "postgresql"): its SQLAlchemy
# URL, for example postgresql://user:password@host/books. A secret: only the environment
# holds it; the setup, the API, the pages and the logs never show it.
GNUCASH_DATABASE_URL = os.environ.get("GNUCASH_DATABASE_URL", "")
# The key that encrypts the secrets the PSA keeps for accounting packages (Xero's client
# secret and refresh token): a Fernet key (`python -m accounting.secrets`). Without it
# no secret can be stored or read; changing it means connecting the package again.
SECRETS_ENCRYPTION_KEY = os.environ.get("SECRETS_ENCRYPTION_KEY", "")
# Xero's endpoints (the operator's, never the setup's: the secrets go to them) and its
# limits per organisation: calls a minute (over XERO_MINUTE_SECONDS) and in flight, and
# the longest wait for a limit a transfer sits out before it stops with the time to
# retry.
XERO_API_URL = os.environ.get("XERO_API_URL", "https://api.xero.com/api.xro/2.0")
XERO_IDENTITY_URL = os.environ.get("XERO_IDENTITY_URL", "https://identity.xero.com")
# Where a user signs in to Xero and grants the PSA access (the OAuth 2.0 code flow).
XERO_AUTHORISE_URL = os.environ.get(
    "XERO_AUTHORISE_URL", "https://login.xero.com/identity/connect/authorize"
)
# Where Xero lists the organisations a token reaches (its /Connections).
XERO_CONNECTIONS_API_URL = os.environ.get("XERO_CONNECTIONS_API_URL", "https://api.xero.com")
XERO_CALLS_A_MINUTE = int(os.environ.get("XERO_CALLS_A_MINUTE", "60"))
XERO_MINUTE_SECONDS = float(os.environ.get("XERO_MINUTE_SECONDS", "60"))
XERO_CALLS_A_DAY = int(os.environ.get("XERO_CALLS_A_DAY", "5000"))
XERO_CALLS_IN_FLIGHT = int(os.environ.get("XERO_CALLS_IN_FLIGHT", "5"))
XERO_MAX_WAIT_SECONDS = float(os.environ.get("XERO_MAX_WAIT_SECONDS", "600"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# Security: strict when DEBUG is off, so that `manage.py check --deploy` passes.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    if TRUSTED_PROXY_COUNT:
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles, images and requests come from
# this site only; no inline script or style, no eval, no plugins, no framing. The pages
# keep their scripts in static/js (htmx's settings are a <meta name="htmx-config">).
# The API docs (Swagger UI, Redoc) relax it for their own pages only (config/api_urls.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [CSP_SELF],
        "script-src": [CSP_SELF],
        "style-src": [CSP_SELF],
        "img-src": [CSP_SELF, "data:"],
        "font-src": [CSP_SELF],
        "connect-src": [CSP_SELF],
        "object-src": [CSP_NONE],
        "base-uri": [CSP_SELF],
        "form-action": [CSP_SELF],
        "frame-ancestors": [CSP_NONE],
    }
}

# Celery: broker and result backend from the environment, JSON only, one task at a
# time per worker process, acknowledged after it ran so that a lost worker's task is
# delivered again. Without a broker, tasks run inline (the embedded default).
CELERY_TASK_ALWAYS_EAGER = not os.environ.get("CELERY_BROKER_URL")
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or "memory://"
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND") or None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = int(os.environ.get("CELERY_TASK_TIME_LIMIT", "3600"))
CELERY_TASK_SOFT_TIME_LIMIT = int(os.environ.get("CELERY_TASK_SOFT_TIME_LIMIT", "3300"))
# A running transfer holds a lease on its batch for TRANSFER_LEASE_SECONDS, renewed at
# every chunk and every third of the lease; once it has expired the transfer is
# interrupted. Every TRANSFER_SWEEP_SECONDS the beat's sweep marks such transfers,
# queues them again (up to TRANSFER_AUTO_RETRIES times, then Finance retries), and
# hands a batch queued TRANSFER_REQUEUE_AFTER_SECONDS ago (a lost message) or never
# handed over (broker down at the time) to the queue again. A killed worker's transfer
# is back within lease + sweep (3 minutes by default), whatever the broker does.
TRANSFER_LEASE_SECONDS = int(os.environ.get("TRANSFER_LEASE_SECONDS", "120"))
TRANSFER_SWEEP_SECONDS = float(os.environ.get("TRANSFER_SWEEP_SECONDS", "60"))
TRANSFER_REQUEUE_AFTER_SECONDS = int(os.environ.get("TRANSFER_REQUEUE_AFTER_SECONDS", "300"))
TRANSFER_AUTO_RETRIES = int(os.environ.get("TRANSFER_AUTO_RETRIES", "3"))
# A file transfer of more than TRANSFER_FANOUT_MIN records, on a real broker, is cut
# into parts of TRANSFER_PART_RECORDS that the workers write side by side, then joined
# (`accounting.transfer.fanout`; the workers must share MEDIA_ROOT).
TRANSFER_FANOUT_MIN = int(os.environ.get("TRANSFER_FANOUT_MIN", "50000"))
TRANSFER_PART_RECORDS = int(os.environ.get("TRANSFER_PART_RECORDS", "25000"))
CELERY_BEAT_SCHEDULE = {
    "transfer-sweep": {
        "task": "accounting.transfer_sweep",
        "schedule": TRANSFER_SWEEP_SECONDS,
        "options": {"expires": TRANSFER_SWEEP_SECONDS},
    },
}
# The books check (docs/workflows.md) runs every night at BOOKS_CHECK_HOUR:
# BOOKS_CHECK_MINUTE (TIME_ZONE) on everything sent through the package's connector;
# BOOKS_CHECK_NIGHTLY=0 leaves it to Finance's button.
BOOKS_CHECK_NIGHTLY = os.environ.get("BOOKS_CHECK_NIGHTLY", "1") != "0"
BOOKS_CHECK_HOUR = int(os.environ.get("BOOKS_CHECK_HOUR", "2"))
BOOKS_CHECK_MINUTE = int(os.environ.get("BOOKS_CHECK_MINUTE", "30"))
# Payments back from the package's connector every PAYMENTS_REFRESH_SECONDS (0: only
# Finance's button).
PAYMENTS_REFRESH_SECONDS = float(os.environ.get("PAYMENTS_REFRESH_SECONDS", "3600"))
if PAYMENTS_REFRESH_SECONDS:
    CELERY_BEAT_SCHEDULE["payments-refresh"] = {
        "task": "accounting.payments_refresh",
        "schedule": PAYMENTS_REFRESH_SECONDS,
        "options": {"expires": PAYMENTS_REFRESH_SECONDS},
    }
if BOOKS_CHECK_NIGHTLY:
    CELERY_BEAT_SCHEDULE["books-check"] = {
        "task": "accounting.books_check_nightly",
        "schedule": crontab(hour=BOOKS_CHECK_HOUR, minute=BOOKS_CHECK_MINUTE),
    }
# Redis: a task a lost worker had taken is delivered again once this many seconds have
# passed, at the next sweep for such tasks (every CELERY_RESTORE_INTERVAL seconds). The
# transfer sweep does not wait for it (nor for the lock kombu takes to restore them): a
# redelivered duplicate finds the batch's transfer lock taken or the batch done.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "600")),
    "unacked_restore_interval": int(os.environ.get("CELERY_RESTORE_INTERVAL", "60")),
    "unacked_restore_throttle": 1,
}
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# REST API (docs/api.md): token and session auth, one error shape, paginated lists.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    # OPTIONS lists only the methods the caller's role allows.
    "DEFAULT_METADATA_CLASS": "core.api.RoleMetadata",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # JSON in and out (docs/api.md); the interactive docs are at /api/docs/.
    "DEFAULT_PARSER_CLASSES": ["core.api.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
# The API's schema (/api/schema/) and docs (/api/docs/, /api/redoc/): for signed-in
# users only, unless API_DOCS_PUBLIC is true.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", False)
# The company id ConnectWise-compatible clients sign in with (company+publicKey:privateKey).
CW_COMPANY_ID = os.environ.get("CW_COMPANY_ID", "psa")
SPECTACULAR_SETTINGS = {
    "SERVE_PERMISSIONS": ["core.api.DocsPermission"],
    "TITLE": "PSA accounting interface API",
    "DESCRIPTION": "GL batches, transfers and the corrections finance staff make after "
    "posting: unbatch, rebatch, delete batch, re-send.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # OpenAPI 3.1: its schemas are JSON Schema, so responses validate with jsonschema.
    "OAS_VERSION": "3.1.0",
    "SCHEMA_PATH_PREFIX": "/api/v1/",
    "PREPROCESSING_HOOKS": ["core.api.rest_api_endpoints"],
    "ENUM_NAME_OVERRIDES": {
        "RecordTypeEnum": "accounting.postables.KIND_ORDER",
        "GLAccountTypeEnum": "accounting.models.GLAccountType",
        "BatchStatusEnum": "accounting.models.BatchStatus",
        "TransferMethodEnum": "accounting.models.TransferMethod",
        "TransferStateEnum": "accounting.models.TransferState",
        "PackageEnum": "accounting.models.Package",
        "ExportFormatEnum": "accounting.models.ExportFormat",
        "SheetStatusEnum": "expenses.models.SheetStatus",
        "PurchaseOrderStatusEnum": "procurement.models.POStatus",
    },
}
