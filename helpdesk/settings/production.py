"""Production: PostgreSQL, Redis, SMTP, HTTPS only.

Refuses to start when a required variable is missing, and passes
``manage.py check --deploy`` with no warnings.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from helpdesk.settings.base import *  # noqa: F403
from helpdesk.settings.base import (
    DATABASE_POOL_MAX_SIZE,
    DATABASES,
    HELPDESK_EMAIL_DOMAIN,
    MIDDLEWARE,
    STORAGES,
    env,
)

_REQUIRED = (
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "REDIS_URL",
    "EMAIL_URL",
    "HELPDESK_PUBLIC_URL",
    "DEFAULT_FROM_EMAIL",
)
_missing = [name for name in _REQUIRED if not os.environ.get(name)]
if _missing:
    raise ImproperlyConfigured(
        "Production settings need these environment variables: " + ", ".join(_missing)
    )

if DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
    raise ImproperlyConfigured("Production runs on PostgreSQL: DATABASE_URL must be postgres://")

if not os.environ["HELPDESK_PUBLIC_URL"].startswith("https://"):
    # RFC 8058 one-click unsubscribe requires https, and so do our signed links.
    raise ImproperlyConfigured("HELPDESK_PUBLIC_URL must be the desk's https:// address.")

if HELPDESK_EMAIL_DOMAIN.strip().rstrip(".").lower() == "localhost":
    # Customers' mail clients write Message-IDs @localhost too, and replies
    # to mail from localhost go nowhere: the desk needs a domain of its own.
    _source = (
        "HELPDESK_EMAIL_DOMAIN"
        if os.environ.get("HELPDESK_EMAIL_DOMAIN")
        else "The domain of DEFAULT_FROM_EMAIL"
    )
    raise ImproperlyConfigured(
        f"{_source} is localhost (or missing): set it to the desk's own mail domain "
        "(e.g. DEFAULT_FROM_EMAIL='Helpdesk <help@desk.example.com>')."
    )

DEBUG = False
# One connection per web thread and worker process, kept for a minute: on one
# machine as fast as PgBouncer or psycopg's pool, and the simplest
# (docs/performance.md, "Past one machine"). Past one machine, PgBouncer in
# transaction mode in front (DATABASE_TRANSACTION_POOLING=true) keeps these
# and multiplexes them onto few server connections. psycopg's pool
# (DATABASE_POOL_MAX_SIZE) replaces persistent connections, which Django
# refuses beside it.
if not DATABASE_POOL_MAX_SIZE:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# The TLS proxy in front (README, "Production") appends the client's address.
HELPDESK_TRUSTED_PROXIES = env.int("HELPDESK_TRUSTED_PROXIES", default=1)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
HELPDESK_ALLOW_DEMO_DATA = False

# gunicorn serves the static files itself, compressed and cache-busted.
MIDDLEWARE.insert(
    MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
    "whitenoise.middleware.WhiteNoiseMiddleware",
)
STORAGES["staticfiles"] = {
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage",
}
