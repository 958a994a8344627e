"""Settings, read from the environment in this one place (see .env.example)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from crm.env import (
    env_bool,
    env_cache,
    env_currency,
    env_db,
    env_email,
    env_int,
    env_limits,
    env_list,
    env_rate,
    env_str,
    make_fernet_key,
    make_secret_key,
    private_data_dir,
    require_shared_secrets,
    secret_from_file,
)

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = private_data_dir(Path(env_str("DATA_DIR", str(BASE_DIR / "var"))).resolve())
if env_str("DATABASE_URL", "").startswith(("postgres://", "postgresql://", "pgsql://")):
    require_shared_secrets("SECRET_KEY", "FIELD_ENCRYPTION_KEYS")

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY", "") or secret_from_file(DATA_DIR, "secret_key", make_secret_key)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
TIME_ZONE = env_str("TIME_ZONE", "UTC")
# The currency of every lead's deal_value (api.md): an ISO 4217 code, shown beside amounts.
CURRENCY = env_currency("CURRENCY", "USD")
USE_TZ = True
USE_I18N = False
LANGUAGE_CODE = "en-us"

INSTALLED_APPS = [
    "accounts.admin_config.CrmAdminConfig",  # django.contrib.admin, sign-in throttled
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "accounts",
    "leads",
    "integrations",
    "csvimport",
    "crm.apps.CrmConfig",  # the register of running processes
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "crm.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "crm.middleware.DomainErrorsMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
# /v1/leads and /v1/leads/ both answer directly; nothing is redirected.
APPEND_SLASH = False

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
                "crm.context_processors.navigation",
                "integrations.context_processors.export_targets",
                "leads.context_processors.team_navigation",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {"default": env_db("DATABASE_URL", f"sqlite:///{DATA_DIR / 'db.sqlite3'}")}
DATABASE_IS_SQLITE = DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"
if DATABASE_IS_SQLITE:
    # WAL lets readers run beside a writer; IMMEDIATE takes the write lock at BEGIN so two
    # writers queue on the busy timeout instead of failing with "database is locked".
    # Tests get a file database too (not shared-cache memory, whose table locks ignore the
    # busy timeout), so a worker thread and the test see the same locking as production.
    # One file per process, so two test runs at once never share (and delete) one database.
    DATABASES["default"].setdefault(
        "TEST", {"NAME": str(Path(tempfile.gettempdir()) / f"crm-test-{os.getpid()}.sqlite3")}
    )
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;"
                "PRAGMA busy_timeout=20000;PRAGMA cache_size=-65536;"
                "PRAGMA mmap_size=268435456;PRAGMA temp_store=MEMORY;"
            ),
        }
    )
else:
    # The leads of one user lie scattered among everyone's in the table, while ids follow
    # the table's order; with the default random_page_cost (4, for spinning disks) the
    # planner then prefers walking the primary key and skipping other users' leads over the
    # (user, status, id) index: 35 ms instead of 7 for a search with a status at 1,000,000
    # leads. 1.1 is the usual value for SSDs and a cached database. (Behind PgBouncer, set it
    # on the role instead: ALTER ROLE crm SET random_page_cost = 1.1.)
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c random_page_cost=1.1")
# Keep connections between requests: a new PostgreSQL connection costs ~7 ms here, and a new
# SQLite one reruns the PRAGMAs above and starts with an empty page cache.
DATABASES["default"].setdefault("CONN_MAX_AGE", env_int("CONN_MAX_AGE", 600, minimum=0))
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {"default": env_cache("CACHE_URL", "dbcache://crm_cache")}

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/accounts/login/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- API ------------------------------------------------------------------------------------
API_RATE_LIMIT = env_rate("API_RATE_LIMIT", "1000/min")
# Where the per-user request counters live: a SQLite file of their own on the embedded
# default; empty (use the shared cache) when scaled out with Redis.
RATE_LIMIT_DB = (
    str(DATA_DIR / "ratelimit.sqlite3")
    if CACHES["default"]["BACKEND"].endswith("DatabaseCache")
    else ""
)
# Django's backend, reading the person's team membership with the user (accounts.backends).
AUTHENTICATION_BACKENDS = ["accounts.backends.MembershipModelBackend"]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Bearer first: its WWW-Authenticate header turns "no credentials" into a 401.
        "accounts.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["crm.throttling.UserRateLimit"],
    "DEFAULT_RENDERER_CLASSES": ["crm.renderers.FastJSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["crm.parsers.JSONParser"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "crm.negotiation.JSONFirstContentNegotiation",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "crm.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Leads CRM API",
    "DESCRIPTION": "Leads, companies, pipeline history and statistics, per user.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    # No validator badge: it would load an image from swagger.io (and send it the schema URL).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "PREPROCESSING_HOOKS": ["crm.schema.document_paths_without_trailing_slash"],
    "ENUM_NAME_OVERRIDES": {"LeadStatusEnum": "leads.models.Status"},
}
# Request bodies above this size are refused with a clear error before any parsing.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1024)
# Uploaded files (CSV imports) past this size are stopped while they stream (crm.uploads),
# before any of them is written to disk. The CSV import's own limit (csvimport.parsing).
FILE_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "crm.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Integrations ---------------------------------------------------------------------------
# Keys for provider credentials at rest, newest first; generated into DATA_DIR when unset.
FIELD_ENCRYPTION_KEYS_FILE = DATA_DIR / "field_encryption_keys"
FIELD_ENCRYPTION_KEYS = env_list("FIELD_ENCRYPTION_KEYS", []) or [
    key.strip()
    for key in secret_from_file(DATA_DIR, FIELD_ENCRYPTION_KEYS_FILE.name, make_fernet_key).split(
        ","
    )
    if key.strip()
]
FIELD_ENCRYPTION_KEYS_FROM_ENV = bool(env_list("FIELD_ENCRYPTION_KEYS", []))
HUNTER_API_URL = env_str("HUNTER_API_URL", "https://api.hunter.io/v2")
SNOVIO_API_URL = env_str("SNOVIO_API_URL", "https://api.snov.io")
INSTANTLY_API_URL = env_str("INSTANTLY_API_URL", "https://api.instantly.ai/api/v2")
# Seconds to wait for a vendor to accept a connection, and then for each answer.
VENDOR_CONNECT_TIMEOUT = env_int("VENDOR_CONNECT_TIMEOUT", 5, minimum=1)
VENDOR_READ_TIMEOUT = env_int("VENDOR_READ_TIMEOUT", 30, minimum=1)
# Client-side limits per vendor account, kept under each vendor's published limit
# (Hunter ~15/s and 500/min, Snov.io 60/min, Instantly 100/s and 6,000/min per workspace).
HUNTER_RATE_LIMIT = env_limits("HUNTER_RATE_LIMIT", "10/s,450/min")
# Snov.io allows 60 a minute (docs); the shared limiter keeps every process of the account
# under one window, so the budget can come close: a full-profile import is one call a prospect.
SNOVIO_RATE_LIMIT = env_limits("SNOVIO_RATE_LIMIT", "58/min")
INSTANTLY_RATE_LIMIT = env_limits("INSTANTLY_RATE_LIMIT", "50/s,3000/min")

# Sync runs: a worker holds a run for SYNC_LEASE_SECONDS at a time (renewed every page); a run
# whose worker died is picked up again once its lease lapses. Transient faults are retried up
# to SYNC_MAX_ATTEMPTS times, waiting Retry-After or SYNC_RETRY_DELAY doubling each time.
SYNC_LEASE_SECONDS = env_int("SYNC_LEASE_SECONDS", 300, minimum=1)
SYNC_MAX_ATTEMPTS = env_int("SYNC_MAX_ATTEMPTS", 8, minimum=1)
SYNC_RETRY_DELAY = env_int("SYNC_RETRY_DELAY", 5, minimum=0)
SYNC_RETRY_MAX_DELAY = env_int("SYNC_RETRY_MAX_DELAY", 600, minimum=1)
SYNC_REQUEUE_AFTER = env_int("SYNC_REQUEUE_AFTER", 120, minimum=1)
# CSV imports: a worker holds an import for CSV_IMPORT_STALL_SECONDS at a time (renewed every
# batch); one whose lease lapsed (its worker died) or that nobody claimed that long after it
# was queued (its message was lost) is queued again from its checkpoint, at most
# CSV_IMPORT_MAX_ATTEMPTS claims in all; then it fails with a message. Both are crm.jobs.
CSV_IMPORT_STALL_SECONDS = env_int("CSV_IMPORT_STALL_SECONDS", 300, minimum=1)
CSV_IMPORT_MAX_ATTEMPTS = env_int("CSV_IMPORT_MAX_ATTEMPTS", 3, minimum=1)
# Imports one user may have queued or running at once; another waits until one finishes.
CSV_IMPORT_MAX_ACTIVE = env_int("CSV_IMPORT_MAX_ACTIVE", 2, minimum=1)

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", f"sqla+sqlite:///{DATA_DIR / 'broker.sqlite3'}")
CELERY_BROKER_IS_SQLA = CELERY_BROKER_URL.startswith("sqla+")
if CELERY_BROKER_IS_SQLA:
    # Every key here goes to SQLAlchemy's create_engine(); see docs/stack notes.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"connect_args": {"timeout": 30}}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# crm is not an installed app, so autodiscovery would miss its tasks.
CELERY_IMPORTS = ["crm.tasks"]
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "housekeeping": {"task": "crm.tasks.housekeeping", "schedule": 3600.0},
    "lead-tally-compact": {"task": "leads.tasks.lead_tally_compact", "schedule": 3600.0},
    "sync-scheduled": {"task": "integrations.tasks.dispatch_scheduled_syncs", "schedule": 300.0},
    "sync-recover": {"task": "integrations.tasks.recover_stalled_runs", "schedule": 60.0},
    "csv-import-recover": {"task": "csvimport.tasks.resume_stalled_imports", "schedule": 60.0},
    "lead-bulk-recover": {"task": "leads.tasks.resume_stalled_bulk_jobs", "schedule": 60.0},
}

# --- Security -------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # htmx and the API docs read it to send X-CSRFToken
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# Trust X-Forwarded-Proto (and the proxy's X-Forwarded-For entry) only when told a proxy sets it.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
# HTTPS-only defaults whenever the app is served to the world: DEBUG off and a host name other
# than this machine's. A laptop install answers only on loopback names over plain HTTP
# (`make run`), where Secure cookies and a redirect to https:// would lock everyone out.
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "[::1]", "::1"}
SERVED_PUBLICLY = not DEBUG and not set(ALLOWED_HOSTS) <= LOOPBACK_HOSTS
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", SERVED_PUBLICLY)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SERVED_PUBLICLY)
# Load balancers probe health over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
# Browsers ignore HSTS over plain HTTP, and Django sends it only on HTTPS responses.
SECURE_HSTS_SECONDS = env_int(
    "SECURE_HSTS_SECONDS", 31_536_000 if SERVED_PUBLICLY else 0, minimum=0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
# Sent on every response by crm.middleware: scripts, styles, images and requests from this
# origin only; no inline script or style attribute (templates and static/js keep to that).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; "
    "object-src 'none'"
)
# Sign-in throttling (accounts.login_throttle): after LOGIN_MAX_FAILURES failed sign-ins for one
# username from one address, or LOGIN_MAX_FAILURES_PER_IP from one address, within
# LOGIN_FAILURE_WINDOW seconds, that pair (or address) is refused until the window ends, even
# with the right password. A username with LOGIN_MAX_FAILURES failures from anywhere is only
# slowed down: one checked attempt every LOGIN_SLOWDOWN_SECONDS.
LOGIN_MAX_FAILURES = env_int("LOGIN_MAX_FAILURES", 5, minimum=1)
LOGIN_MAX_FAILURES_PER_IP = env_int("LOGIN_MAX_FAILURES_PER_IP", 5, minimum=1)
LOGIN_FAILURE_WINDOW = env_int("LOGIN_FAILURE_WINDOW", 900, minimum=1)
LOGIN_SLOWDOWN_SECONDS = env_int("LOGIN_SLOWDOWN_SECONDS", 5, minimum=1)

# --- Mail -------------------------------------------------------------------------------------
# Only password resets send mail, and only when EMAIL_URL is set (smtp+tls://user:pw@host:587);
# without it the reset pages do not exist. PASSWORD_RESET_MAX requests per address and per
# account within LOGIN_FAILURE_WINDOW.
EMAIL_CONFIG = env_email("EMAIL_URL")
globals().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Leads CRM <crm@localhost>")
PASSWORD_RESET_MAX = env_int("PASSWORD_RESET_MAX", 3, minimum=1)

# --- Logging --------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
