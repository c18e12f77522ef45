"""Studio settings: one file, every operator-facing value read from the environment.

Embedded defaults (SQLite, ORM broker, database cache, local media) make a fresh checkout
run with no configuration; DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from studio.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STUDIO_VAR_DIR", str(BASE_DIR / "var")))

# Every default here is the production one; debug runs relax a few (development secrets,
# unhashed static files), and the test suite's own are in tests/settings.py.
DEBUG = env_bool("STUDIO_DEBUG", False)

_DEV_SECRET = "studio-insecure-development-key-change-me-0123456789abcdef"  # noqa: S105
SECRET_KEY = env_str("STUDIO_SECRET_KEY", _DEV_SECRET if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "STUDIO_SECRET_KEY is required when STUDIO_DEBUG is off "
        "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )

ALLOWED_HOSTS = env_list("STUDIO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
BASE_URL = env_str("STUDIO_BASE_URL", "http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("STUDIO_CSRF_TRUSTED_ORIGINS", [BASE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_q",
    # Installed so its docs page uses the vendored Swagger UI files, not a CDN.
    "ninja",
    # The project's core app: navigation, run_studio, rate counters (studio/apps.py).
    "studio",
    "studio.accounts",
    "studio.vault",
    # Webhooks and Meta conversions: outbound deliveries (studio/integrations).
    "studio.integrations",
    "generations",
    "catalog",
]

MIDDLEWARE = [
    # Outermost: one log line per request, whatever answers it (redirects, errors included).
    "studio.requestlog.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Outermost after security: every /api/ error is the JSON envelope (404, 405, CSRF…).
    "studio.api.middleware.ApiErrorEnvelopeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads a field: NUL and lone surrogates are a 400, never stored or a 500.
    "studio.text.RefuseBadTextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "studio.urls"
WSGI_APPLICATION = "studio.wsgi.application"
ASGI_APPLICATION = "studio.asgi.application"

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
                "studio.accounts.context_processors.current_team",
            ],
            "builtins": ["template_partials.templatetags.partials"],
        },
    }
]

# --- Database -------------------------------------------------------------------------------
_SQLITE_OPTIONS = {
    # IMMEDIATE takes the write lock at BEGIN, so two writers queue instead of failing
    # with "database is locked" half-way through a transaction.
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
    "init_command": (
        "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;PRAGMA busy_timeout=20000;"
        "PRAGMA foreign_keys=ON;"
    ),
}

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'studio.sqlite3'}")
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("STUDIO_DB_CONN_MAX_AGE", 0))
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from None
# PostgreSQL: each process keeps a pool of at most STUDIO_DB_POOL_SIZE connections (Django's
# native pool, psycopg_pool), the only way to reuse connections under ASGI, where every request
# runs in a thread of its own (persistent connections there leak one per request). Size it so
# that (web processes + cluster processes) x STUDIO_DB_POOL_SIZE stays under the server's
# max_connections (README, "Configuration"). 0 turns the pool off (STUDIO_DB_CONN_MAX_AGE then).
STUDIO_DB_POOL_SIZE = env_int("STUDIO_DB_POOL_SIZE", 4, minimum=0)
STUDIO_DB_POOL_TIMEOUT = env_float("STUDIO_DB_POOL_TIMEOUT", 10.0, minimum=0.1)
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend, with connections reused across requests (studio/sqlite/base.py).
    _db["ENGINE"] = "studio.sqlite"
    _db["OPTIONS"] = {**_SQLITE_OPTIONS, **_db.get("OPTIONS", {})}
    if _db["NAME"] and _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db.setdefault("OPTIONS", {})
    if STUDIO_DB_POOL_SIZE:
        if _db["CONN_MAX_AGE"]:
            raise ImproperlyConfigured(
                "STUDIO_DB_CONN_MAX_AGE cannot be used with the PostgreSQL connection pool; "
                "unset it, or set STUDIO_DB_POOL_SIZE=0 to turn the pool off"
            )
        _db["OPTIONS"]["pool"] = {
            # One connection stays open; the rest are opened on demand and closed when idle.
            "min_size": 1,
            "max_size": STUDIO_DB_POOL_SIZE,
            "timeout": STUDIO_DB_POOL_TIMEOUT,
            "max_idle": 300,
        }
if _db["ENGINE"] == "studio.sqlite":
    # A file, not the in-memory default: concurrency tests need real WAL locking across
    # connections, and browser tests share it with the live server thread.
    # Per process, so two test runs on one machine never share (or delete) each other's file.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-studio-{os.getpid()}.sqlite3")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_SQLITE = _db["ENGINE"] == "studio.sqlite"

# --- Cache (rate-limit counters live here, so it must be shared across processes) ------------
REDIS_URL = env_str("REDIS_URL", "")
# Redis connections per process (cache and rate limits share them); callers past it wait.
STUDIO_REDIS_MAX_CONNECTIONS = env_int("STUDIO_REDIS_MAX_CONNECTIONS", 20, minimum=1)
STUDIO_REDIS_POOL_TIMEOUT = env_float("STUDIO_REDIS_POOL_TIMEOUT", 5.0, minimum=0.1)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("STUDIO_CACHE_PREFIX", "studio"),
            # Django makes a cache object (and so a Redis pool) per request under ASGI;
            # this pool class hands every one the process's single pool for the URL.
            "OPTIONS": {"pool_class": "studio.redispool.SharedConnectionPool"},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "studio_cache",
        }
    }

# --- Task cluster (django-q2) ---------------------------------------------------------------
# The generation state machine owns retries and deadlines, so the broker must not replay
# failed tasks on its own: failures are acknowledged and schedules never catch up.
# Tasks that store results (a collect; a submit, which collects inline when the upstream
# answers at once) may download and upload a 2 GB video: they run under their own timeout
# (async_task(timeout=…), see generations/engine.py `enqueue`), not the cluster's. The
# download's own time limit leaves room for the upload within it.
STUDIO_RESULT_TIME_LIMIT = env_int("STUDIO_RESULT_TIME_LIMIT", 30 * 60, minimum=30)
STUDIO_COLLECT_TIMEOUT = env_int("STUDIO_COLLECT_TIMEOUT", 2 * STUDIO_RESULT_TIME_LIMIT, minimum=60)
if STUDIO_COLLECT_TIMEOUT <= STUDIO_RESULT_TIME_LIMIT:
    raise ImproperlyConfigured(
        "STUDIO_COLLECT_TIMEOUT must be greater than STUDIO_RESULT_TIME_LIMIT (the result's "
        "download must end in time for its upload)"
    )
Q_CLUSTER: dict[str, object] = {
    "name": "studio",
    # One worker is mostly the dispatcher's minute-long loop; the others run jobs.
    "workers": env_int("STUDIO_CLUSTER_WORKERS", 3, minimum=2),
    "timeout": env_int("STUDIO_TASK_TIMEOUT", 240, minimum=10),
    # django-q hands a task not acknowledged within `retry` seconds to another worker: it
    # must outlast the longest task timeout, the collect's.
    "retry": env_int("STUDIO_TASK_RETRY", STUDIO_COLLECT_TIMEOUT + 60, minimum=20),
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 500,
    "queue_limit": 50,
    "label": "Task cluster",
    "poll": env_float("STUDIO_CLUSTER_POLL", 0.5, minimum=0.05),
}
# On SIGTERM, tasks in flight get this long to end before they are interrupted (their jobs are
# re-driven by the next sweeper); the cluster is gone a few seconds later (generations/cluster.py).
STUDIO_CLUSTER_STOP_GRACE = env_float("STUDIO_CLUSTER_STOP_GRACE", 5.0, minimum=0)
if Q_CLUSTER["retry"] <= max(Q_CLUSTER["timeout"], STUDIO_COLLECT_TIMEOUT):  # type: ignore[call-overload]
    raise ImproperlyConfigured(
        "STUDIO_TASK_RETRY must be greater than STUDIO_TASK_TIMEOUT and STUDIO_COLLECT_TIMEOUT "
        "(a task still running after STUDIO_TASK_RETRY seconds would run twice)"
    )
if REDIS_URL and env_bool("STUDIO_REDIS_BROKER", False):
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# Run tasks inline in the calling process (the test suite; a debugging session).
if env_bool("STUDIO_TASKS_SYNC", False):
    Q_CLUSTER["sync"] = True

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = env_str("STUDIO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("STUDIO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("STUDIO_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("STUDIO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("STUDIO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("STUDIO_EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = env_str("STUDIO_DEFAULT_FROM_EMAIL", "Studio <studio@localhost>")

# --- I18N -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media -----------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STUDIO_STATIC_ROOT", str(VAR_DIR / "staticfiles")))
MEDIA_ROOT = Path(env_str("STUDIO_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Media lives on local disk (MEDIA_ROOT) or, with STUDIO_STORAGE=s3, in any S3-compatible store
# (AWS, MinIO, R2, …) through django-storages; code reads and writes it only through Django's
# storage API. Links stay Studio-signed and expiring either way; on S3 a valid link answers a
# redirect to a presigned URL that lives STUDIO_S3_PRESIGNED_TTL seconds.
STUDIO_STORAGE = env_str("STUDIO_STORAGE", "local").strip().lower()
if STUDIO_STORAGE not in ("local", "s3"):
    raise ImproperlyConfigured(f"STUDIO_STORAGE must be local or s3, got {STUDIO_STORAGE!r}")
STUDIO_S3_BUCKET = env_str("STUDIO_S3_BUCKET", "")
# Empty: AWS itself. Must be reachable by browsers too: presigned URLs point at it.
STUDIO_S3_ENDPOINT_URL = env_str("STUDIO_S3_ENDPOINT_URL", "")
STUDIO_S3_REGION = env_str("STUDIO_S3_REGION", env_str("AWS_DEFAULT_REGION", ""))
# Empty keys: boto3's own chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a profile, a role).
STUDIO_S3_ACCESS_KEY_ID = env_str("STUDIO_S3_ACCESS_KEY_ID", "")
STUDIO_S3_SECRET_ACCESS_KEY = env_str("STUDIO_S3_SECRET_ACCESS_KEY", "")
# "path" for stores without per-bucket host names (MinIO, a store on an IP address).
STUDIO_S3_ADDRESSING_STYLE = env_str("STUDIO_S3_ADDRESSING_STYLE", "")
STUDIO_S3_PREFIX = env_str("STUDIO_S3_PREFIX", "").strip("/")
STUDIO_S3_PRESIGNED_TTL = env_int("STUDIO_S3_PRESIGNED_TTL", 300, minimum=10)
# Work files of running jobs (inputs, renders, downloads on their way to storage): local disk
# of the worker, removed when the step ends; never served.
STUDIO_WORK_DIR = Path(env_str("STUDIO_WORK_DIR", str(MEDIA_ROOT / "work")))
if STUDIO_STORAGE == "s3":
    if not STUDIO_S3_BUCKET:
        raise ImproperlyConfigured("STUDIO_STORAGE=s3 needs STUDIO_S3_BUCKET")
    from studio.s3 import storage_entry

    STORAGES["default"] = storage_entry(
        STUDIO_S3_BUCKET,
        endpoint_url=STUDIO_S3_ENDPOINT_URL,
        region=STUDIO_S3_REGION,
        access_key=STUDIO_S3_ACCESS_KEY_ID,
        secret_key=STUDIO_S3_SECRET_ACCESS_KEY,
        addressing_style=STUDIO_S3_ADDRESSING_STYLE,
        prefix=STUDIO_S3_PREFIX,
        presigned_ttl=STUDIO_S3_PRESIGNED_TTL,
    )
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("STUDIO_MAX_REQUEST_BYTES", 30 * 1024 * 1024, minimum=1024)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Security -------------------------------------------------------------------------------
_HTTPS = BASE_URL.startswith("https://")
SESSION_COOKIE_SECURE = env_bool("STUDIO_SECURE_COOKIES", _HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SECURE_SSL_REDIRECT = env_bool("STUDIO_SSL_REDIRECT", _HTTPS and not DEBUG)
# Load balancers probe over plain HTTP inside the network; a redirect would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env_int("STUDIO_HSTS_SECONDS", 31536000 if _HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
if env_bool("STUDIO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SILENCED_SYSTEM_CHECKS = env_list("STUDIO_SILENCED_CHECKS", [])

# --- Studio ---------------------------------------------------------------------------------
STUDIO_SITE_NAME = env_str("STUDIO_SITE_NAME", "Studio")
STUDIO_DEFAULT_PLAN = env_str("STUDIO_DEFAULT_PLAN", "free")
STUDIO_INVITATION_DAYS = env_int("STUDIO_INVITATION_DAYS", 7, minimum=1)

# --- Public API (studio/api, studio/vault) ---------------------------------------------------
STUDIO_API_KEY_PREFIX = env_str("STUDIO_API_KEY_PREFIX", "studio")
if not STUDIO_API_KEY_PREFIX.isalnum() or len(STUDIO_API_KEY_PREFIX) > 40:
    raise ImproperlyConfigured("STUDIO_API_KEY_PREFIX must be 1-40 letters or digits")
# Keys are stored as HMAC-SHA256(pepper, key): a separate secret from SECRET_KEY, so rotating
# one does not invalidate (or expose) the other.
STUDIO_API_KEY_PEPPER = env_str(
    "STUDIO_API_KEY_PEPPER",
    hashlib.sha256(b"studio-dev-api-key-pepper:" + SECRET_KEY.encode()).hexdigest()
    if DEBUG
    else "",
)
if len(STUDIO_API_KEY_PEPPER) < 32:
    raise ImproperlyConfigured(
        "STUDIO_API_KEY_PEPPER (at least 32 characters) is required when STUDIO_DEBUG is off "
        "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )
STUDIO_API_KEYS_PER_USER = env_int("STUDIO_API_KEYS_PER_USER", 5, minimum=1)
STUDIO_API_KEY_TOUCH_SECONDS = env_int("STUDIO_API_KEY_TOUCH_SECONDS", 300, minimum=1)
# Each process keeps an authenticated key this long (0: never), so a revoked key, or one whose
# owner left the team, stops working within this many seconds in every process.
STUDIO_API_KEY_CACHE_SECONDS = env_float("STUDIO_API_KEY_CACHE_SECONDS", 5.0, minimum=0)
STUDIO_ACCESS_TOKEN_SECONDS = env_int("STUDIO_ACCESS_TOKEN_SECONDS", 3600, minimum=60)
# Requests per minute (the contract's defaults); plans and teams can raise them in the admin.
STUDIO_RATE_LIMITS = {
    "generation": env_int("STUDIO_RATE_GENERATION", 10, minimum=1),
    "poll": env_int("STUDIO_RATE_POLL", 300, minimum=1),
    "read": env_int("STUDIO_RATE_READ", 300, minimum=1),
    "auth": env_int("STUDIO_RATE_AUTH", 20, minimum=1),
}
STUDIO_RATELIMIT_PREFIX = env_str("STUDIO_RATELIMIT_PREFIX", "rl")
# Password guessing (sign-in form, admin login, POST /api/auth/token share these counters):
# attempts per client IP and per account within the window, then 429 until it ends.
STUDIO_SIGN_IN_WINDOW = env_int("STUDIO_SIGN_IN_WINDOW", 15 * 60, minimum=60)
STUDIO_SIGN_IN_PER_IP = env_int("STUDIO_SIGN_IN_PER_IP", 50, minimum=1)
STUDIO_SIGN_IN_PER_ACCOUNT = env_int("STUDIO_SIGN_IN_PER_ACCOUNT", 10, minimum=1)
# Password reset: requests per client IP per sign-in window, emails per address per hour.
STUDIO_PASSWORD_RESETS_PER_IP = env_int("STUDIO_PASSWORD_RESETS_PER_IP", 10, minimum=1)
STUDIO_RESET_EMAILS_PER_HOUR = env_int("STUDIO_RESET_EMAILS_PER_HOUR", 3, minimum=1)
# Upstream providers count their per-minute limits over this window (seconds); the test suite
# shrinks it to run a minute of budget in a second.
STUDIO_UPSTREAM_RATE_WINDOW = env_float("STUDIO_UPSTREAM_RATE_WINDOW", 60.0, minimum=0.1)
# Behind a proxy the client address is the last X-Forwarded-For entry (the proxy's own).
STUDIO_BEHIND_PROXY = env_bool("STUDIO_BEHIND_PROXY", False)

# --- Credential vault (studio/vault/crypto.py) ----------------------------------------------
# Upstream secrets are encrypted with AES-256-GCM under these keys, newest first: a separate
# secret from SECRET_KEY. Each is a urlsafe-base64 32-byte key
# (python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())').
# Debug runs (and the test settings) without the variable use a key derived from SECRET_KEY;
# production with no keys starts, but any use of the vault raises ImproperlyConfigured
# saying how to fix it.
STUDIO_VAULT_KEYS = env_list("STUDIO_VAULT_KEYS") or (
    [
        base64.urlsafe_b64encode(
            hashlib.sha256(b"studio-dev-vault-key:" + SECRET_KEY.encode()).digest()
        ).decode()
    ]
    if DEBUG
    else []
)

# --- Logs and operations (studio/requestlog.py, studio/health.py, studio/metrics.py) ----------
# `json`: one JSON object per line (time, level, logger, message and the record's ids: a
# request's method, path, status, duration, request/team/user/key ids; a job step's
# generation uuid), for a log shipper. `plain` is for people.
STUDIO_LOG_FORMAT = env_str("STUDIO_LOG_FORMAT", "plain").strip().lower()
if STUDIO_LOG_FORMAT not in ("plain", "json"):
    raise ImproperlyConfigured(
        f"STUDIO_LOG_FORMAT must be plain or json, got {STUDIO_LOG_FORMAT!r}"
    )
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "studio.requestlog.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": STUDIO_LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("STUDIO_LOG_LEVEL", "INFO")},
    "loggers": {"django_q": {"level": env_str("STUDIO_CLUSTER_LOG_LEVEL", "WARNING")}},
}
# Bearer token Prometheus sends to read GET /metrics; unset, the page does not exist (404).
STUDIO_METRICS_TOKEN = env_str("STUDIO_METRICS_TOKEN", "")
# Anyone may create an account (invitation links always may); off by default in production.
STUDIO_OPEN_SIGNUP = env_bool("STUDIO_OPEN_SIGNUP", DEBUG)
# Who may create teams from the dashboard: anyone signed in (open), staff only (admins), or
# nobody (off: operators use create_team or the admin). Each team starts with credits.
STUDIO_TEAM_CREATION = env_str("STUDIO_TEAM_CREATION", "open").strip().lower()
if STUDIO_TEAM_CREATION not in ("open", "admins", "off"):
    raise ImproperlyConfigured(
        f"STUDIO_TEAM_CREATION must be open, admins or off, got {STUDIO_TEAM_CREATION!r}"
    )
# Credits a team created from the dashboard starts with (unset: its plan's monthly allowance).
STUDIO_NEW_TEAM_CREDITS: int | None = (
    env_int("STUDIO_NEW_TEAM_CREDITS", 0, minimum=0)
    if env_str("STUDIO_NEW_TEAM_CREDITS").strip()
    else None
)
# Let user-supplied URLs reach private addresses (tests' loopback fakes; never in production).
STUDIO_ALLOW_PRIVATE_FETCH = env_bool("STUDIO_ALLOW_PRIVATE_FETCH", False)
# Let team admins point their own provider credentials at private addresses (a single-team
# install whose admins are operators). Shared credentials may always.
STUDIO_ALLOW_PRIVATE_UPSTREAMS = env_bool("STUDIO_ALLOW_PRIVATE_UPSTREAMS", False)
# Signed media links stay valid this long.
STUDIO_MEDIA_URL_TTL = env_int("STUDIO_MEDIA_URL_TTL", 6 * 3600, minimum=60)
# One image policy (studio/images.py) for generation inputs and catalog uploads: bytes per
# image, and pixels declared in its header (checked before anything is decoded).
STUDIO_MAX_IMAGE_BYTES = env_int("STUDIO_MAX_IMAGE_BYTES", 20 * 1024 * 1024, minimum=1024)
STUDIO_MAX_IMAGE_PIXELS = env_int("STUDIO_MAX_IMAGE_PIXELS", 40_000_000, minimum=10_000)
# The names these limits had before one policy served inputs and catalog uploads: a value an
# operator left under an old name must stop the start, not be silently ignored.
RENAMED_SETTINGS = {
    "STUDIO_MAX_INPUT_BYTES": "STUDIO_MAX_IMAGE_BYTES",
    "STUDIO_CATALOG_MAX_UPLOAD_BYTES": "STUDIO_MAX_IMAGE_BYTES",
    "STUDIO_CATALOG_MAX_PIXELS": "STUDIO_MAX_IMAGE_PIXELS",
}
for _old, _new in RENAMED_SETTINGS.items():
    if _old in os.environ:
        raise ImproperlyConfigured(
            f"{_old} is no longer read: set {_new} instead (one limit for generation inputs "
            "and catalog uploads)"
        )
# Krev start endpoints wait this long for a result before answering 202 to be polled.
STUDIO_INLINE_WAIT_SECONDS = env_float("STUDIO_INLINE_WAIT_SECONDS", 25.0, minimum=0)
# MCP generation tools (/mcp) wait this long for the result, then answer `_timed_out` with the
# generation id to poll (agents' clients allow tool calls minutes, not seconds).
STUDIO_MCP_WAIT_SECONDS = env_float("STUDIO_MCP_WAIT_SECONDS", 150.0, minimum=0)
# Agent runs (POST /api/v1/chat with a Bearer key): the most steps (model turns and tool
# calls), wall time and credits one run may use; a run reaching one ends failed with what it
# made. STUDIO_AGENT_PLAN_LIMITS raises them per plan: a JSON object
# {"<plan slug>": {"max_steps": n, "max_seconds": n, "max_credits": n}}.
STUDIO_AGENT_MAX_STEPS = env_int("STUDIO_AGENT_MAX_STEPS", 16, minimum=2)
STUDIO_AGENT_MAX_SECONDS = env_int("STUDIO_AGENT_MAX_SECONDS", 900, minimum=10)
STUDIO_AGENT_MAX_CREDITS = env_int("STUDIO_AGENT_MAX_CREDITS", 2000, minimum=0)
STUDIO_AGENT_PLAN_LIMITS = json.loads(os.environ.get("STUDIO_AGENT_PLAN_LIMITS") or "{}")
# A chat message without `max_tokens` is charged for (at most) this many answer tokens when
# accepted; the unused part is refunded when it completes.
STUDIO_CHAT_MAX_TOKENS = env_int("STUDIO_CHAT_MAX_TOKENS", 1024, minimum=16)
# API product uploads are analysed within the request (offline analysis takes well under a
# second) unless this is off, then they queue to be polled.
STUDIO_CATALOG_INLINE_ANALYSIS = env_bool("STUDIO_CATALOG_INLINE_ANALYSIS", True)
# Content safety (studio/safety.py): an image result scoring at least the threshold (0-1,
# Open-NSFW) is flagged, flagged with a blurred preview, or refused (failed, refunded);
# admins override both per team (Safety policies in the admin).
STUDIO_SAFETY_THRESHOLD = env_float("STUDIO_SAFETY_THRESHOLD", 0.8, minimum=0)
STUDIO_SAFETY_ACTION = env_str("STUDIO_SAFETY_ACTION", "flag")
if STUDIO_SAFETY_ACTION not in ("flag", "blur", "refuse"):
    raise ImproperlyConfigured(
        f"STUDIO_SAFETY_ACTION must be flag, blur or refuse (got {STUDIO_SAFETY_ACTION!r})"
    )
# The offline language model (the `local-llm` extra): CPU threads per running answer, the
# context window it is loaded with (tokens; history is trimmed to fit) and the longest answer.
STUDIO_LOCAL_LLM_THREADS = env_int(
    "STUDIO_LOCAL_LLM_THREADS", max(1, (os.cpu_count() or 2) // 2), minimum=1
)
STUDIO_LOCAL_LLM_CONTEXT = env_int("STUDIO_LOCAL_LLM_CONTEXT", 2048, minimum=256)
STUDIO_LOCAL_LLM_MAX_TOKENS = env_int("STUDIO_LOCAL_LLM_MAX_TOKENS", 512, minimum=16)
# Meta Conversions API (studio/integrations/meta.py): the Graph API's base URL and version.
# A private base URL is refused unless STUDIO_ALLOW_PRIVATE_FETCH or _UPSTREAMS is on.
STUDIO_META_GRAPH_URL = env_str("STUDIO_META_GRAPH_URL", "https://graph.facebook.com").rstrip("/")
STUDIO_META_GRAPH_VERSION = env_str("STUDIO_META_GRAPH_VERSION", "v21.0")
# Attempts at Meta within one `POST /conversions/meta` before it answers 502 UPSTREAM_ERROR.
STUDIO_META_ATTEMPTS = env_int("STUDIO_META_ATTEMPTS", 3, minimum=1)
# Finished webhook and Meta deliveries stay in the Integrations page's log this many days.
STUDIO_DELIVERY_LOG_DAYS = env_int("STUDIO_DELIVERY_LOG_DAYS", 30, minimum=1)
# After a webhook secret is rotated, deliveries carry the old secret's signature too this long.
STUDIO_WEBHOOK_ROTATION_GRACE_HOURS = env_int("STUDIO_WEBHOOK_ROTATION_GRACE_HOURS", 24, minimum=0)
