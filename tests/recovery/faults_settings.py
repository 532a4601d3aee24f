"""Settings for the Celery worker processes that the fault tests start.

``helpdesk.settings.test`` pins the locmem email backend, which would keep a
worker process's mail in its own memory where no test can see it. These
workers must send over real SMTP to the sink the test runs on 127.0.0.1,
whose address comes from ``EMAIL_URL`` (read by ``helpdesk.settings.base``).
"""

from helpdesk.settings.test import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
