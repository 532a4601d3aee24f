"""The zero-setup local mode: what ``scripts/run`` uses.

Everything can still be overridden from the environment (for example a
``DATABASE_URL`` to try the desk on PostgreSQL).
"""

from helpdesk.settings.base import *  # noqa: F403
from helpdesk.settings.base import INSTALLED_APPS, env

DEBUG = env.bool("DEBUG", default=True)
# Only for a desk on one's own machine; production refuses to start without a key.
SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-only-never-in-production")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])

# The demo (seed_demo) and the benchmarks (generate_load_data, benchmark): for
# a desk on one's own machine and the tests, never installed in production.
INSTALLED_APPS = [*INSTALLED_APPS, "demo", "bench"]
