"""Settings shared by every mode, read from the environment.

With nothing set, the defaults give the local mode: SQLite, Celery on kombu's
filesystem transport and email written to files, all under ``var/`` in the
checkout, so the desk runs on a laptop with no services at all.
"""

from datetime import timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

from helpdesk.settings.validation import validate_currency, validate_range, validate_time_zone

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env")

# Local state (SQLite file, broker folders, sent mail, beat schedule).
VAR_DIR = Path(env("HELPDESK_VAR_DIR", default=str(BASE_DIR / "var")))

# --- Core -------------------------------------------------------------------

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])
CSRF_FAILURE_VIEW = "helpdesk.errors.csrf_failure"

INSTALLED_APPS = [
    # Django's admin, for the admin role only (helpdesk/admin_site.py).
    "helpdesk.apps.DeskAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "django.contrib.staticfiles",
    # Its system checks refuse the old-style CSP_* settings (see "Security headers").
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Locks an account out after failed sign-ins (see "Sign-in lockout" below).
    "axes",
    # Our apps, in dependency order: outbox <- accounts <- tickets <- recovery,
    # inbound <- cases, console, demo.
    "outbox",
    "accounts",
    "tickets",
    "recovery",
    "inbound",
    "cases",
    "console",
    "demo",
    "bench",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Every response, HTML or JSON, in every mode (see "Security headers" below).
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "helpdesk.middleware.StaffTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: answers a locked-out sign-in with its page.
    "axes.middleware.AxesMiddleware",
]

# Before anything reads the request: a NUL or an unpaired surrogate anywhere
# in it is a 400 at once, never a database error later (a separate statement,
# so edits to the list above merge cleanly).
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "helpdesk.middleware.RejectUnstorableTextMiddleware",
)

ROOT_URLCONF = "helpdesk.urls"
WSGI_APPLICATION = "helpdesk.wsgi.application"

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

# --- Database ---------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A server that accepts the TCP connection but never answers (overloaded,
    # half-failed over) would hold a worker or a web thread until the OS gives
    # up, minutes later. Long enough for a busy server under load; libpq
    # counts it per address and treats anything under 2 s as 2 s. A value in
    # DATABASE_URL (?connect_timeout=) wins. /healthz uses a stricter one.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=5)
    )
# Behind a pooler in transaction mode (PgBouncer's pool_mode = transaction,
# README "Production", docs/performance.md "Past one machine"): each
# transaction may run on a different server connection, so nothing may live
# on the server between two transactions. Django's server-side cursors
# (.iterator() opens a named cursor WITH HOLD outside a transaction) and
# psycopg's prepared statements do; both off. The desk itself keeps no
# session state: its timeouts are SET LOCAL (set_config(..., true)), its
# locks are row locks, and it uses no LISTEN, advisory locks or temp tables.
DATABASE_TRANSACTION_POOLING = env.bool("DATABASE_TRANSACTION_POOLING", default=False)
# psycopg's pool inside each process (Django's OPTIONS["pool"]): at most this
# many connections per process, shared by its threads; 0 (the default) for
# none. It replaces persistent connections, so CONN_MAX_AGE is 0 with it.
DATABASE_POOL_MAX_SIZE = env.int("DATABASE_POOL_MAX_SIZE", default=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    if DATABASE_TRANSACTION_POOLING:
        DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = True
        # Django's default with psycopg 3 already; pinned here so that turning
        # on server_side_binding never brings prepared statements back.
        _options["prepare_threshold"] = None
    if DATABASE_POOL_MAX_SIZE > 0:
        _options["pool"] = {
            "min_size": min(env.int("DATABASE_POOL_MIN_SIZE", default=2), DATABASE_POOL_MAX_SIZE),
            "max_size": DATABASE_POOL_MAX_SIZE,
            # A request waits this long for a free connection, then fails
            # (PoolTimeout) rather than queueing without end.
            "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
        }
        DATABASES["default"]["CONN_MAX_AGE"] = 0
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The local web server and Celery worker write to one file at once: WAL and
    # immediate transactions turn "database is locked" into a short wait.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
# django-axes first, so a locked-out account is refused before its password
# is even checked; then ModelBackend with groups and permissions read in
# fewer queries.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.StaffBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "console:login"
# Signing in without ?next= lands on the console, not Django's /accounts/profile/.
LOGIN_REDIRECT_URL = "console:index"

# --- Sign-in lockout (django-axes) ---------------------------------------------

# Both login pages (/console/login/ and /admin/login/) go through Django's
# authenticate(), which django-axes watches. After this many failures an
# account is locked, and so is an address that failed that often whatever
# names it tried, for the cool-off; every attempt is logged (Django's admin:
# "Access attempts", "Access failures"), and an admin unlocks early by deleting
# the attempt there or with `manage.py axes_reset_username NAME`.
AXES_FAILURE_LIMIT = env.int("HELPDESK_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("HELPDESK_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The lockout page names the time the lock lifts; a try meanwhile must not move it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# How many proxies of ours stand before the desk and append to
# X-Forwarded-For: none locally, the TLS proxy in production (production.py).
HELPDESK_TRUSTED_PROXIES = env.int("HELPDESK_TRUSTED_PROXIES", default=0)
AXES_CLIENT_IP_CALLABLE = "helpdesk.client_ip.client_ip"

# --- Time, language, money ----------------------------------------------------

# The console speaks English; what customers read (emails, their pages) is
# in their own language when we ship its catalogue (core.languages).
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("pt-br", "Português (Brasil)"),
    ("de", "Deutsch"),
    ("fr", "Français"),
]
# The catalogues' sources (.po) are kept in git; manage.py compilecatalogues
# (run by both scripts) writes the .mo files Django reads.
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = validate_time_zone(env("TIME_ZONE", default="UTC"), setting="TIME_ZONE")
USE_I18N = True
USE_TZ = True
DEFAULT_CURRENCY = validate_currency(env("DEFAULT_CURRENCY", default="USD"))

# --- Static files -------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
# Front-end libraries come from npm (package-lock.json, installed by
# scripts/lib.sh ensure_node_modules) and are served by staticfiles like our
# own files, so collectstatic and whitenoise ship them too: no CDN.
STATICFILES_DIRS = [
    ("vendor/chart.js", BASE_DIR / "node_modules" / "chart.js" / "dist"),
    # The project's own pages (errors, API docs): helpdesk/ is not an app.
    BASE_DIR / "helpdesk" / "static",
]
STORAGES: dict[str, Any] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(VAR_DIR / "media")))

# Bodies above this are refused with 413 and the limit named (SPEC, "Bad input").
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# --- Security headers -----------------------------------------------------------

# A strict Content-Security-Policy on every response: our own origin only, and
# no inline script or style anywhere (never 'unsafe-inline'), so an injected
# <script> or style= does nothing. Chart.js, Swagger UI and Redoc are our own
# static files (npm and drf-spectacular-sidecar); /api/redoc/ alone adds what
# Redoc needs (helpdesk/docs.py). Each source beyond 'self' below is there for
# a need the browser tests prove.
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Swagger UI and Redoc draw their icons as data: SVGs.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        # No one frames the desk (X_FRAME_OPTIONS says the same to old browsers).
        "frame-ancestors": ["'none'"],
    },
}

# Powerful browser features the desk never uses, off for every page and any
# frame, so an injected script or a hostile embed cannot ask for them.
# (clipboard-write stays: Swagger UI's "copy" buttons use it.)
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# Customers' links carry signed tokens in their paths (/feedback/<token>/):
# "same-origin" never sends a URL to another site, and keeps the full Referer
# on our own requests, which Django's CSRF check over HTTPS relies on.
SECURE_REFERRER_POLICY = "same-origin"

# --- Redis, cache and Celery ----------------------------------------------------

REDIS_URL = env("REDIS_URL", default="")
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")

# Every socket to Redis has a timeout: without one, a Redis that hangs
# without closing its connections (frozen, paused VM, failover behind a NAT)
# holds the caller forever. A healthy Redis answers in milliseconds; these
# leave room for a loaded one while bounding what a hang costs a request (the
# throttles then let it through, see helpdesk/api/throttling.py).
REDIS_CONNECT_TIMEOUT = env.float("REDIS_CONNECT_TIMEOUT", default=2)
REDIS_SOCKET_TIMEOUT = env.float("REDIS_SOCKET_TIMEOUT", default=3)
# /healthz must answer within two seconds whatever its dependencies do, so it
# spends at most this long in all (checks run side by side, one not done by
# then is "timeout") and each of its own sockets to Redis, the broker and
# PostgreSQL waits at most HELPDESK_HEALTH_SOCKET_TIMEOUT (helpdesk/health.py).
HELPDESK_HEALTH_TIMEOUT = env.float("HELPDESK_HEALTH_TIMEOUT", default=1.5)
HELPDESK_HEALTH_SOCKET_TIMEOUT = 1.0

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", default="helpdesk"),
            "OPTIONS": {
                "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
                "socket_timeout": REDIS_SOCKET_TIMEOUT,
            },
        }
    }
else:
    # A file cache is shared by the web process and the worker, unlike locmem.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
# Throttle counts (helpdesk/api/throttling.py) in a cache of their own, so the
# tests can keep them apart; the same store as the default here.
CACHES["throttle"] = {**CACHES["default"]}
if REDIS_URL:
    CACHES["throttle"]["KEY_PREFIX"] = CACHES["default"]["KEY_PREFIX"] + "-throttle"
else:
    CACHES["throttle"]["LOCATION"] = str(VAR_DIR / "cache-throttle")
# The same store as the default, for /healthz alone: it reads the worker's
# heartbeat with the probe's short timeouts, not the application's.
CACHES["health"] = {**CACHES["default"]}
if REDIS_URL:
    CACHES["health"]["OPTIONS"] = {
        "socket_connect_timeout": HELPDESK_HEALTH_SOCKET_TIMEOUT,
        "socket_timeout": HELPDESK_HEALTH_SOCKET_TIMEOUT,
    }

# Sessions read from the cache and written through to the database: a
# console page does not query the database for its session, and a cache
# flush signs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any] = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Broadcast (remote control) state; kombu puts it in ./control otherwise.
        "control_folder": str(_broker_dir / "control"),
    }
else:
    # Longer than any task's hard time limit, so a running task is never
    # redelivered to a second worker while the first still holds it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": 3600,
        # Bounds the synchronous commands (a publish, the connection's PING),
        # which otherwise wait forever on a hung broker and hold the web
        # request that queued a task: with CELERY_TASK_PUBLISH_RETRY_POLICY
        # below, at most three tries. Longer than the cache's because a
        # worker under load publishes in bursts. The worker's BRPOP is not
        # affected: the broker answers it within a second by itself, and
        # kombu drops a connection whose answer is overdue
        # (health_check_interval).
        "socket_connect_timeout": REDIS_CONNECT_TIMEOUT,
        "socket_timeout": env.float("CELERY_BROKER_SOCKET_TIMEOUT", default=5),
    }
# No result backend (CELERY_TASK_IGNORE_RESULT): nothing else talks to Redis.

# What SPEC decides: a task is acknowledged only when it finished, returns to
# the queue if its worker dies, and a worker holds one task at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish must not hang a web request when the broker is gone.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TIMEZONE = TIME_ZONE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Celery's own scheduler, which first makes sure the schedule's folder exists
# (creating it if it can) and otherwise stops beat with one line naming it.
CELERY_BEAT_SCHEDULER = "helpdesk.celery:BeatScheduler"

if CELERY_TASK_SOFT_TIME_LIMIT >= CELERY_TASK_TIME_LIMIT:
    raise ImproperlyConfigured(
        "CELERY_TASK_SOFT_TIME_LIMIT must be lower than CELERY_TASK_TIME_LIMIT."
    )

# --- Email ------------------------------------------------------------------------


def _filemail_path(url: str) -> str:
    """The folder of a ``filemail://`` URL: absolute in ``filemail:///srv/mail``
    (django-environ drops that leading slash, making it relative to wherever
    the process runs), relative in ``filemail://var/mail``."""
    parts = urlsplit(url)
    path = unquote(parts.netloc + parts.path)
    # The old default wrote four slashes (filemail:////abs/path): still one root.
    return "/" + path.lstrip("/") if path.startswith("/") else path


# Locally every "sent" email is a file under var/mail, for a person to open.
_email_url = env.str("EMAIL_URL", default=f"filemail://{VAR_DIR / 'mail'}")
_email = env.email_url_config(_email_url)
# smtp:// and its kin send through Django's SMTP backend made lighter (core.mail).
EMAIL_BACKEND = _email["EMAIL_BACKEND"].replace(
    "django.core.mail.backends.smtp.EmailBackend", "core.mail.SMTPBackend"
)
_file_path = _filemail_path(_email_url) if _email_url.startswith("filemail:") else ""
EMAIL_FILE_PATH = _file_path or str(VAR_DIR / "mail")
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Helpdesk <help@localhost>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# The domain of our Message-IDs, so replies thread back to us. A from address
# without one ("help") gives localhost, which production refuses.
_from_address = parseaddr(DEFAULT_FROM_EMAIL)[1]
HELPDESK_EMAIL_DOMAIN = env(
    "HELPDESK_EMAIL_DOMAIN",
    default=("@" in _from_address and _from_address.rpartition("@")[2]) or "localhost",
)

# --- Ticket lifecycle -----------------------------------------------------------------

# Files on an agent's reply: per file and per message. Emailed as attachments,
# so keep the total under what the outgoing mail server accepts.
HELPDESK_MAX_ATTACHMENT_BYTES = env.int("HELPDESK_MAX_ATTACHMENT_BYTES", default=10 * 1024 * 1024)
HELPDESK_MAX_ATTACHMENTS = env.int("HELPDESK_MAX_ATTACHMENTS", default=5)
# Inbound email: a raw message above this is refused (the MTA bounces it);
# below it, it is kept even if it cannot be handled. New tickets from email
# go to the queue with this slug (none: unassigned, seen by supervisors).
HELPDESK_INBOUND_MAX_BYTES = env.int("HELPDESK_INBOUND_MAX_BYTES", default=30 * 1024 * 1024)
HELPDESK_INBOUND_QUEUE = env("HELPDESK_INBOUND_QUEUE", default="")
# An IMAP mailbox polled every minute by beat (optional: off without a host).
HELPDESK_IMAP_HOST = env("HELPDESK_IMAP_HOST", default="")
HELPDESK_IMAP_PORT = env.int("HELPDESK_IMAP_PORT", default=993)
HELPDESK_IMAP_SSL = env.bool("HELPDESK_IMAP_SSL", default=True)
HELPDESK_IMAP_USER = env("HELPDESK_IMAP_USER", default="")
HELPDESK_IMAP_PASSWORD = env("HELPDESK_IMAP_PASSWORD", default="")
HELPDESK_IMAP_FOLDER = env("HELPDESK_IMAP_FOLDER", default="INBOX")
HELPDESK_IMAP_BATCH = env.int("HELPDESK_IMAP_BATCH", default=50)
# An answered question with no news for this long is closed by beat.
HELPDESK_AUTO_CLOSE_AFTER = timedelta(days=env.int("HELPDESK_AUTO_CLOSE_AFTER_DAYS", default=7))
# Staff are told this long before an acknowledgement or apology target
# passes, and this long before a promise to a customer falls due.
HELPDESK_NOTIFY_TARGET_LEAD = timedelta(
    minutes=env.float("HELPDESK_NOTIFY_TARGET_LEAD_MINUTES", default=15)
)
# How often an open ticket page says who is there and what changed.
HELPDESK_PRESENCE_HEARTBEAT_SECONDS = env.float("HELPDESK_PRESENCE_HEARTBEAT_SECONDS", default=20)
HELPDESK_NOTIFY_COMMITMENT_LEAD = timedelta(
    hours=env.float("HELPDESK_NOTIFY_COMMITMENT_LEAD_HOURS", default=4)
)
# A new mishap within this long after another one's rebuilding period is a
# repeat failure (Maxham and Netemeyer 2002: the paradox holds once, not twice).
HELPDESK_REPEAT_FAILURE_WINDOW = timedelta(
    days=env.int("HELPDESK_REPEAT_FAILURE_WINDOW_DAYS", default=90)
)

# The customer's trust (recovery/trust/rules.py; README, "The customer's trust"):
# fragile from this many mishaps in 90 days, a last promise more than this
# many hours late, or a last rating this low; new below this many tickets.
HELPDESK_TRUST_FRAGILE_MISHAPS = int(
    validate_range(
        env.int("HELPDESK_TRUST_FRAGILE_MISHAPS", default=2),
        setting="HELPDESK_TRUST_FRAGILE_MISHAPS",
        low=2,
    )
)
HELPDESK_TRUST_PROMISE_GRACE_HOURS = validate_range(
    env.float("HELPDESK_TRUST_PROMISE_GRACE_HOURS", default=0),
    setting="HELPDESK_TRUST_PROMISE_GRACE_HOURS",
    low=0,
)
HELPDESK_TRUST_LOW_RATING = int(
    validate_range(
        env.int("HELPDESK_TRUST_LOW_RATING", default=2),
        setting="HELPDESK_TRUST_LOW_RATING",
        low=1,
        high=4,
    )
)
HELPDESK_TRUST_NEW_BELOW_TICKETS = int(
    validate_range(
        env.int("HELPDESK_TRUST_NEW_BELOW_TICKETS", default=3),
        setting="HELPDESK_TRUST_NEW_BELOW_TICKETS",
        low=1,
    )
)

# --- API ----------------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first: DRF answers an anonymous request with the first
    # authenticator's challenge, and only a challenge makes that a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "helpdesk.api.throttling.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Views that name a throttle_scope (the inbound email endpoint) are
    # limited per caller; failed tokens and the customers' pages per address
    # (helpdesk/api/throttling.py). All answer 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["helpdesk.api.throttling.ScopedThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "failed_token": env("HELPDESK_THROTTLE_FAILED_TOKEN", default="10/minute"),
        "customer_link": env("HELPDESK_THROTTLE_CUSTOMER_LINK", default="60/minute"),
        # The contact form, by client address and by the email typed in it.
        "contact_ip": env("HELPDESK_THROTTLE_CONTACT_IP", default="10/hour"),
        "contact_address": env("HELPDESK_THROTTLE_CONTACT_ADDRESS", default="5/hour"),
        # Asking for a fresh case link, by client address and by email address.
        "case_link_ip": env("HELPDESK_THROTTLE_CASE_LINK_IP", default="10/hour"),
        "case_link_address": env("HELPDESK_THROTTLE_CASE_LINK_ADDRESS", default="3/hour"),
        "inbound": env("HELPDESK_THROTTLE_INBOUND", default="120/minute"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "helpdesk.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "helpdesk.api.exceptions.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "helpdesk.api.schema.ProblemAutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
}

# JSON with text no column can hold (a NUL, an unpaired surrogate) is a 400
# (a separate statement, so edits to the dict above merge cleanly).
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["helpdesk.api.parsers.StrictJSONParser"]

SPECTACULAR_SETTINGS = {
    "TITLE": "Service recovery helpdesk API",
    "DESCRIPTION": (
        "Tickets that walk every mishap through acknowledgement, apology and "
        "commitment; restitution within each agent's authority; follow-ups over "
        "the weeks after. Errors are RFC 9457 problem details."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.ticket.Status",
        "TicketKindEnum": "tickets.models.ticket.Kind",
        "RestitutionKindEnum": "recovery.models.authority.RestitutionKind",
        "RestitutionStatusEnum": "recovery.models.restitution.Restitution.Status",
        "ApprovalStatusEnum": "recovery.models.restitution.ApprovalRequest.Status",
    },
}

# --- Logging ------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Its start-up banner would open every command's output (ingest_email's
        # too, read by the MTA); sign-in attempts are logged in the database.
        "axes.apps": {"level": "WARNING"},
    },
}

# --- Demo -------------------------------------------------------------------------

# seed_demo creates logins with published passwords: never in production.
HELPDESK_ALLOW_DEMO_DATA = env.bool("HELPDESK_ALLOW_DEMO_DATA", default=True)

# --- Authority --------------------------------------------------------------------

# What a role may grant when a supervisor has set nothing for the person.
# Amounts in DEFAULT_CURRENCY; periods in TIME_ZONE.
_ALL_KINDS = ["refund", "credit", "gift", "discount", "replacement", "fee_waiver", "other"]
HELPDESK_AUTHORITY_DEFAULTS = {
    "agent": {
        "per_incident_limit": "50.00",
        "per_period_limit": "200.00",
        "period": "week",
        "per_customer_limit": "100.00",
        "allowed_kinds": ["refund", "credit", "gift", "discount", "fee_waiver"],
    },
    "supervisor": {
        "per_incident_limit": "500.00",
        "per_period_limit": "5000.00",
        "period": "month",
        "per_customer_limit": "1000.00",
        "allowed_kinds": _ALL_KINDS,
    },
    "admin": {
        "per_incident_limit": "500.00",
        "per_period_limit": "5000.00",
        "period": "month",
        "per_customer_limit": "1000.00",
        "allowed_kinds": _ALL_KINDS,
    },
}
# Idempotency keys are forgotten after this long.
HELPDESK_IDEMPOTENCY_TTL = timedelta(hours=24)

# --- Follow-ups -------------------------------------------------------------------

# Follow-ups arrive in the customer's morning, in their own time zone.
# --- The outbox (outbox/): every outgoing email and webhook ---------------------
# A worker's claim on a batch lapses this long after its last renewal (it
# renews at half-time), and beat's sweep, every HELPDESK_OUTBOX_SWEEP_SECONDS,
# makes the rows of a worker that died due again.
HELPDESK_OUTBOX_LEASE = timedelta(seconds=env.float("HELPDESK_OUTBOX_LEASE_SECONDS", default=120))
HELPDESK_OUTBOX_SWEEP_SECONDS = env.float("HELPDESK_OUTBOX_SWEEP_SECONDS", default=60)
# Rows a task, over one SMTP connection; a batch claims nothing new after
# HELPDESK_OUTBOX_BATCH_SECONDS, well inside the task's soft time limit.
HELPDESK_OUTBOX_BATCH = env.int("HELPDESK_OUTBOX_BATCH", default=50)
HELPDESK_OUTBOX_BATCH_SECONDS = env.float("HELPDESK_OUTBOX_BATCH_SECONDS", default=60)
# At most this many tasks queued by one sweep (each goes on while it finds full batches).
HELPDESK_OUTBOX_SWEEP_TASKS = env.int("HELPDESK_OUTBOX_SWEEP_TASKS", default=8)
# A temporary failure (4xx, refused, timeout, DNS) is retried after
# RETRY_BASE, doubled each time up to RETRY_CAP, with jitter, for RETRY_FOR
# after the first failure: greylisting takes minutes, and RFC 5321 suggests
# days before giving up.
HELPDESK_OUTBOX_RETRY_BASE = timedelta(
    seconds=env.float("HELPDESK_OUTBOX_RETRY_BASE_SECONDS", default=60)
)
HELPDESK_OUTBOX_RETRY_CAP = timedelta(
    seconds=env.float("HELPDESK_OUTBOX_RETRY_CAP_SECONDS", default=1800)
)
HELPDESK_OUTBOX_RETRY_FOR = timedelta(hours=env.float("HELPDESK_OUTBOX_RETRY_HOURS", default=48))

HELPDESK_FOLLOWUP_WINDOW_START = env.int("HELPDESK_FOLLOWUP_WINDOW_START", default=9)
HELPDESK_FOLLOWUP_WINDOW_END = env.int("HELPDESK_FOLLOWUP_WINDOW_END", default=11)
if not 0 <= HELPDESK_FOLLOWUP_WINDOW_START < HELPDESK_FOLLOWUP_WINDOW_END <= 24:
    raise ImproperlyConfigured("The follow-up window must be hours with START < END, within 0-24.")
# A follow-up whose moment passed while workers were down waits for the next morning.
HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW = env.bool(
    "HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW", default=True
)
# Feedback and unsubscribe links in follow-ups stay valid this long.
HELPDESK_FOLLOWUP_LINK_MAX_AGE = timedelta(days=env.int("HELPDESK_FOLLOWUP_LINK_DAYS", default=60))
# The customer's case page: its link in every customer email stays valid this long.
HELPDESK_CASE_LINK_MAX_AGE = timedelta(days=env.int("HELPDESK_CASE_LINK_DAYS", default=60))
# The contact form (/contact/): the queue its tickets go to (a slug; none: no
# queue), and how fast a person can fill it in: a form sent sooner is a robot's.
HELPDESK_CONTACT_QUEUE = env("HELPDESK_CONTACT_QUEUE", default="")
HELPDESK_CONTACT_MIN_SECONDS = env.float("HELPDESK_CONTACT_MIN_SECONDS", default=3)
# A rebuilding ticket whose plan is done and whose customer rated it well is
# restored this long after the last follow-up.
HELPDESK_RESTORE_GRACE = timedelta(days=env.int("HELPDESK_RESTORE_GRACE_DAYS", default=3))
# Where customers' links point (the desk's public address, https in production).
HELPDESK_PUBLIC_URL = env("HELPDESK_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
