"""Run in a subprocess by the settings tests: prints the effective settings as JSON."""

import json

import django
from django.conf import settings

django.setup()
print(
    json.dumps(
        {
            "DEBUG": settings.DEBUG,
            "ENGINE": settings.DATABASES["default"]["ENGINE"],
            "DB_NAME": str(settings.DATABASES["default"]["NAME"]),
            "BROKER": settings.CELERY_BROKER_URL,
            "CACHE": settings.CACHES["default"]["BACKEND"],
            "CACHE_OPTIONS": settings.CACHES["default"].get("OPTIONS", {}),
            "DB_OPTIONS": settings.DATABASES["default"].get("OPTIONS", {}),
            "EMAIL_BACKEND": settings.EMAIL_BACKEND,
            "EMAIL_FILE_PATH": str(getattr(settings, "EMAIL_FILE_PATH", "")),
            "EMAIL_HOST": settings.EMAIL_HOST,
            "EMAIL_PORT": settings.EMAIL_PORT,
            "EMAIL_USE_TLS": settings.EMAIL_USE_TLS,
            "TIME_ZONE": settings.TIME_ZONE,
            "DEFAULT_CURRENCY": settings.DEFAULT_CURRENCY,
            "ALLOWED_HOSTS": settings.ALLOWED_HOSTS,
            "ACKS_LATE": settings.CELERY_TASK_ACKS_LATE,
            "REJECT_ON_WORKER_LOST": settings.CELERY_TASK_REJECT_ON_WORKER_LOST,
            "PREFETCH": settings.CELERY_WORKER_PREFETCH_MULTIPLIER,
            "TRANSPORT_OPTIONS": settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            "ALLOW_DEMO": settings.HELPDESK_ALLOW_DEMO_DATA,
            "INSTALLED_APPS": settings.INSTALLED_APPS,
            "MIDDLEWARE": settings.MIDDLEWARE,
            "CSP": settings.CONTENT_SECURITY_POLICY,
            "PERMISSIONS_POLICY": settings.PERMISSIONS_POLICY,
            "REFERRER_POLICY": settings.SECURE_REFERRER_POLICY,
        }
    )
)
