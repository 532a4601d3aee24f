"""The desk's own settings (``HELPDESK_*``): the ticket lifecycle, the
customer's trust, authority, the outbox, follow-ups, the demo."""

from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from helpdesk.settings.environment import env
from helpdesk.settings.validation import validate_range

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

# --- Follow-ups -------------------------------------------------------------------

# Follow-ups arrive in the customer's morning, in their own time zone.
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

# --- Demo -------------------------------------------------------------------------

# seed_demo creates logins with published passwords: never in production.
HELPDESK_ALLOW_DEMO_DATA = env.bool("HELPDESK_ALLOW_DEMO_DATA", default=True)
