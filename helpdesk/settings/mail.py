"""Outgoing email: files under ``var/mail`` locally, SMTP in production
(``EMAIL_URL``); the desk's addresses and mail domain."""

from email.utils import parseaddr
from urllib.parse import unquote, urlsplit

from helpdesk.settings.environment import VAR_DIR, env


def _filemail_path(url: str) -> str:
    """The folder of a ``filemail://`` URL: absolute in ``filemail:///srv/mail``
    (django-environ drops that leading slash, making it relative to wherever
    the process runs), relative in ``filemail://var/mail``."""
    parts = urlsplit(url)
    path = unquote(parts.netloc + parts.path)
    # The old default wrote four slashes (filemail:////abs/path): still one root.
    return "/" + path.lstrip("/") if path.startswith("/") else path


# Locally every "sent" email is a file under var/mail, for a person to open.
_email_url = env.str("EMAIL_URL", default=f"filemail://{VAR_DIR / 'mail'}")
_email = env.email_url_config(_email_url)
# smtp:// and its kin send through Django's SMTP backend made lighter (core.mail).
EMAIL_BACKEND = _email["EMAIL_BACKEND"].replace(
    "django.core.mail.backends.smtp.EmailBackend", "core.mail.SMTPBackend"
)
_file_path = _filemail_path(_email_url) if _email_url.startswith("filemail:") else ""
EMAIL_FILE_PATH = _file_path or str(VAR_DIR / "mail")
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS", False))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL", False))
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Helpdesk <help@localhost>")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)

# The domain of our Message-IDs, so replies thread back to us. A from address
# without one ("help") gives localhost, which production refuses.
_from_address = parseaddr(DEFAULT_FROM_EMAIL)[1]
HELPDESK_EMAIL_DOMAIN = env(
    "HELPDESK_EMAIL_DOMAIN",
    default=("@" in _from_address and _from_address.rpartition("@")[2]) or "localhost",
)
