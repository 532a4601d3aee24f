"""The Django project itself: apps, middleware, templates, users and
sign-in, time and language, static files, logging."""

from pathlib import Path
from typing import Any

from helpdesk.settings.environment import BASE_DIR, VAR_DIR, env
from helpdesk.settings.validation import validate_currency, validate_time_zone

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
    # Its system checks refuse the old-style CSP_* settings (security.py).
    "csp",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    # Locks an account out after failed sign-ins (security.py, "Sign-in lockout").
    "axes",
    # Our apps, in dependency order: outbox <- accounts <- tickets <- recovery,
    # inbound <- cases, console. The demo and the benchmarks are added by the
    # local and test settings only (never installed in production).
    "outbox",
    "accounts",
    "tickets",
    "recovery",
    "inbound",
    "cases",
    "console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Every response, HTML or JSON, in every mode (security.py, "Security headers").
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

# Django's form and widget templates drawn by Jinja2, the admin's own by the
# template language (core/renderers.py).
FORM_RENDERER = "core.renderers.FormRenderer"

# --- Users and sign-in ------------------------------------------------------

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
