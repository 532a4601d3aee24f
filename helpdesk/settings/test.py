"""Tests run on the real services: PostgreSQL and Redis (SPEC, "Real components")."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/helpdesk")
# Database 1, so a developer's local Redis data on 0 is never touched.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")

from helpdesk.settings.base import *  # noqa: F403
from helpdesk.settings.base import CACHES, INSTALLED_APPS, env

SECRET_KEY = env("SECRET_KEY", default="test-only-secret-key-not-for-any-deployment")
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The demo and the benchmarks have their tests (local.py installs them too).
INSTALLED_APPS = [*INSTALLED_APPS, "demo", "bench"]
# /healthz reads the worker's heartbeat through "health", the same store.
CACHES["default"]["KEY_PREFIX"] = CACHES["health"]["KEY_PREFIX"] = "helpdesk-test"
# Throttle counts in memory, emptied before each test (tests/conftest.py).
CACHES["throttle"] = {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests send follow-ups whatever the hour of the run; the night guard has its own tests.
HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW = False

# Uploaded files of a test run go to a directory of their own, not var/media.
MEDIA_ROOT = Path(tempfile.gettempdir()) / "helpdesk-test-media"
