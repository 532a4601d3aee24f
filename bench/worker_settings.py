"""Settings of the processes the write benchmarks start (the Celery worker):
the benchmark's own settings (``BENCH_BASE_SETTINGS``), sending mail by SMTP
to the benchmark's sink on 127.0.0.1 (``BENCH_SMTP_PORT``), at any hour.

The night guard (``HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW``) is off: a run at
night in the customers' zone would otherwise postpone every follow-up to the
morning and measure nothing. The test settings' in-memory mail backend would
measure nothing either: hence SMTP here whatever the base says.
"""

import os
from importlib import import_module

_base = import_module(os.environ["BENCH_BASE_SETTINGS"])
globals().update({name: value for name, value in vars(_base).items() if name.isupper()})

EMAIL_BACKEND = "core.mail.SMTPBackend"
EMAIL_HOST = "127.0.0.1"
EMAIL_PORT = int(os.environ["BENCH_SMTP_PORT"])
EMAIL_USE_TLS = False
EMAIL_USE_SSL = False
EMAIL_HOST_USER = ""
EMAIL_HOST_PASSWORD = ""
EMAIL_TIMEOUT = 10
HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW = False
