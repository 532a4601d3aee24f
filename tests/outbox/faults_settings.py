"""Settings for the Celery worker processes that the outbox's fault tests
start (tests/outbox/faults.py).

``helpdesk.settings.test`` pins the locmem email backend, which would keep a
worker process's mail in its own memory where no test can see it. These
workers send over real SMTP to the sink the test runs on 127.0.0.1, whose
address comes from ``EMAIL_URL``; the database, the broker and the outbox's
shortened waits come from the environment too (``faults.worker_env``).
"""

from helpdesk.settings.test import *  # noqa: F403

EMAIL_BACKEND = "core.mail.SMTPBackend"
