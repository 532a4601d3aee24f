"""Tests run on the real services: PostgreSQL and Redis (SPEC, "Real components")."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/helpdesk")
# Database 1, so a developer's local Redis data on 0 is never touched.
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")


def _redis_db_of_xdist_worker() -> None:
    """Under pytest-xdist (scripts/test runs the suite on several workers)
    each worker has a database of its own (pytest-django names it
    test_<name>_gw0, _gw1...) and here a Redis db of its own: 2 + its number
    past REDIS_URL's (1: 3, 4...; the fault tests use 9 and the pooled run 2),
    so that its Celery workers never take another's tasks nor its purge empty
    another's queue. Done once per worker: the processes a test starts
    inherit the result, and a REDIS_URL a test sets for one stands."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw") or os.environ.get("HELPDESK_TEST_REDIS_WORKER") == worker:
        return
    url, _, db = os.environ["REDIS_URL"].rpartition("/")
    if db.isdigit():
        os.environ["REDIS_URL"] = f"{url}/{(int(db) + 2 + int(worker[2:])) % 16}"
    os.environ["HELPDESK_TEST_REDIS_WORKER"] = worker


_redis_db_of_xdist_worker()

# After the environment above: the base settings read it on import.
from helpdesk.settings.base import *  # noqa: E402, F403
from helpdesk.settings.base import CACHES, INSTALLED_APPS, env  # noqa: E402

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
