"""Studio settings: one file, every operator-facing value read from the environment.

Embedded defaults (SQLite, ORM broker, database cache, local media) make a fresh checkout
run with no configuration; DATABASE_URL and REDIS_URL switch to PostgreSQL and Redis.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from studio.env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("STUDIO_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("STUDIO_DEBUG", False)
# pytest sets this implicitly so `pytest` works without extra environment.
TESTING = env_bool("STUDIO_TESTING", "pytest" in sys.modules)

_DEV_SECRET = "studio-insecure-development-key-change-me-0123456789abcdef"  # noqa: S105
SECRET_KEY = env_str("STUDIO_SECRET_KEY", _DEV_SECRET if (DEBUG or TESTING) else "")
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
    "studio.accounts",
    "studio.vault",
    "generations",
    "catalog",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outermost after security: every /api/ error is the JSON envelope (404, 405, CSRF…).
    "studio.api.middleware.ApiErrorEnvelopeMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
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
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {**_SQLITE_OPTIONS, **_db.get("OPTIONS", {})}
    if _db["NAME"] and _db["NAME"] != ":memory:":
        Path(_db["NAME"]).parent.mkdir(parents=True, exist_ok=True)
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db.setdefault("OPTIONS", {})
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not the in-memory default: concurrency tests need real WAL locking across
    # connections, and browser tests share it with the live server thread.
    # Per process, so two test runs on one machine never share (or delete) each other's file.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-studio-{os.getpid()}.sqlite3")}
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_SQLITE = _db["ENGINE"] == "django.db.backends.sqlite3"

# --- Cache (rate-limit counters live here, so it must be shared across processes) ------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("STUDIO_CACHE_PREFIX", "studio"),
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
Q_CLUSTER: dict[str, object] = {
    "name": "studio",
    # One worker is mostly the dispatcher's minute-long loop; the others run jobs.
    "workers": env_int("STUDIO_CLUSTER_WORKERS", 3, minimum=2),
    "timeout": env_int("STUDIO_TASK_TIMEOUT", 240, minimum=10),
    "retry": env_int("STUDIO_TASK_RETRY", 300, minimum=20),
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 500,
    "queue_limit": 50,
    "label": "Task cluster",
    "poll": env_float("STUDIO_CLUSTER_POLL", 0.5, minimum=0.05),
}
if Q_CLUSTER["retry"] <= Q_CLUSTER["timeout"]:  # type: ignore[operator]
    raise ImproperlyConfigured("STUDIO_TASK_RETRY must be greater than STUDIO_TASK_TIMEOUT")
if REDIS_URL and env_bool("STUDIO_REDIS_BROKER", False):
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# Tests run tasks inline unless a test starts a real cluster.
if env_bool("STUDIO_TASKS_SYNC", TESTING):
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
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

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
MEDIA_ROOT = Path(
    env_str("STUDIO_MEDIA_ROOT", str(VAR_DIR / ("test-media" if TESTING else "media")))
)
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
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
    if (DEBUG or TESTING)
    else "",
)
if len(STUDIO_API_KEY_PEPPER) < 32:
    raise ImproperlyConfigured(
        "STUDIO_API_KEY_PEPPER (at least 32 characters) is required when STUDIO_DEBUG is off "
        "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    )
STUDIO_API_KEYS_PER_USER = env_int("STUDIO_API_KEYS_PER_USER", 5, minimum=1)
STUDIO_API_KEY_TOUCH_SECONDS = env_int("STUDIO_API_KEY_TOUCH_SECONDS", 300, minimum=1)
STUDIO_ACCESS_TOKEN_SECONDS = env_int("STUDIO_ACCESS_TOKEN_SECONDS", 3600, minimum=60)
# Requests per minute (the contract's defaults); plans and teams can raise them in the admin.
STUDIO_RATE_LIMITS = {
    "generation": env_int("STUDIO_RATE_GENERATION", 10, minimum=1),
    "poll": env_int("STUDIO_RATE_POLL", 300, minimum=1),
    "read": env_int("STUDIO_RATE_READ", 300, minimum=1),
    "auth": env_int("STUDIO_RATE_AUTH", 20, minimum=1),
}
STUDIO_RATELIMIT_PREFIX = env_str("STUDIO_RATELIMIT_PREFIX", "rl")
# Behind a proxy the client address is the last X-Forwarded-For entry (the proxy's own).
STUDIO_BEHIND_PROXY = env_bool("STUDIO_BEHIND_PROXY", False)

# --- Credential vault (studio/vault/crypto.py) ----------------------------------------------
# Upstream secrets are encrypted with AES-256-GCM under these keys, newest first: a separate
# secret from SECRET_KEY. Each is a urlsafe-base64 32-byte key
# (python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())').
# Debug and test runs without the variable use a key derived from SECRET_KEY; production with
# no keys starts, but any use of the vault raises ImproperlyConfigured saying how to fix it.
STUDIO_VAULT_KEYS = env_list("STUDIO_VAULT_KEYS") or (
    [
        base64.urlsafe_b64encode(
            hashlib.sha256(b"studio-dev-vault-key:" + SECRET_KEY.encode()).digest()
        ).decode()
    ]
    if (DEBUG or TESTING)
    else []
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("STUDIO_LOG_LEVEL", "INFO")},
    "loggers": {"django_q": {"level": env_str("STUDIO_CLUSTER_LOG_LEVEL", "WARNING")}},
}
# Anyone may create an account (invitation links always may); off by default in production.
STUDIO_OPEN_SIGNUP = env_bool("STUDIO_OPEN_SIGNUP", DEBUG)
# Let user-supplied URLs reach private addresses (tests' loopback fakes; never in production).
STUDIO_ALLOW_PRIVATE_FETCH = env_bool("STUDIO_ALLOW_PRIVATE_FETCH", False)
# Let team admins point their own provider credentials at private addresses (a single-team
# install whose admins are operators). Shared credentials may always.
STUDIO_ALLOW_PRIVATE_UPSTREAMS = env_bool("STUDIO_ALLOW_PRIVATE_UPSTREAMS", TESTING)
# Signed media links stay valid this long.
STUDIO_MEDIA_URL_TTL = env_int("STUDIO_MEDIA_URL_TTL", 6 * 3600, minimum=60)
STUDIO_MAX_INPUT_BYTES = env_int("STUDIO_MAX_INPUT_BYTES", 20 * 1024 * 1024, minimum=1024)
# Krev start endpoints wait this long for a result before answering 202 to be polled.
STUDIO_INLINE_WAIT_SECONDS = env_float("STUDIO_INLINE_WAIT_SECONDS", 25.0, minimum=0)
# Catalog uploads (products, Visual DNA, moodboards): bytes and decoded pixels per image,
# checked before any work; API product uploads are analysed within the request (offline
# analysis takes well under a second) unless this is off, then they queue to be polled.
STUDIO_CATALOG_MAX_UPLOAD_BYTES = env_int(
    "STUDIO_CATALOG_MAX_UPLOAD_BYTES", 15 * 1024 * 1024, minimum=1024
)
STUDIO_CATALOG_MAX_PIXELS = env_int("STUDIO_CATALOG_MAX_PIXELS", 40_000_000, minimum=10_000)
STUDIO_CATALOG_INLINE_ANALYSIS = env_bool("STUDIO_CATALOG_INLINE_ANALYSIS", True)
