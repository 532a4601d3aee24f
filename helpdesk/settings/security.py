"""Sign-in lockout and the security headers every response carries."""

from datetime import timedelta
from typing import Any

from helpdesk.settings.environment import env

# --- Sign-in lockout (django-axes) ---------------------------------------------

# Both login pages (/console/login/ and /admin/login/) go through Django's
# authenticate(), which django-axes watches. After this many failures an
# account is locked, and so is an address that failed that often whatever
# names it tried, for the cool-off; every attempt is logged (Django's admin:
# "Access attempts", "Access failures"), and an admin unlocks early by deleting
# the attempt there or with `manage.py axes_reset_username NAME`.
AXES_FAILURE_LIMIT = env.int("HELPDESK_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("HELPDESK_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
# The lockout page names the time the lock lifts; a try meanwhile must not move it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
# How many proxies of ours stand before the desk and append to
# X-Forwarded-For: none locally, the TLS proxy in production (production.py).
HELPDESK_TRUSTED_PROXIES = env.int("HELPDESK_TRUSTED_PROXIES", default=0)
AXES_CLIENT_IP_CALLABLE = "helpdesk.client_ip.client_ip"

# --- Security headers -----------------------------------------------------------

# A strict Content-Security-Policy on every response: our own origin only, and
# no inline script or style anywhere (never 'unsafe-inline'), so an injected
# <script> or style= does nothing. Chart.js, Swagger UI and Redoc are our own
# static files (npm and drf-spectacular-sidecar); /api/redoc/ alone adds what
# Redoc needs (helpdesk/docs.py). Each source beyond 'self' below is there for
# a need the browser tests prove.
CONTENT_SECURITY_POLICY: dict[str, Any] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # Swagger UI and Redoc draw their icons as data: SVGs.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        # No one frames the desk (X_FRAME_OPTIONS says the same to old browsers).
        "frame-ancestors": ["'none'"],
    },
}

# Powerful browser features the desk never uses, off for every page and any
# frame, so an injected script or a hostile embed cannot ask for them.
# (clipboard-write stays: Swagger UI's "copy" buttons use it.)
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "browsing-topics",
        "camera",
        "display-capture",
        "encrypted-media",
        "geolocation",
        "gyroscope",
        "hid",
        "idle-detection",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "picture-in-picture",
        "screen-wake-lock",
        "serial",
        "usb",
        "xr-spatial-tracking",
    )
}

# Customers' links carry signed tokens in their paths (/feedback/<token>/):
# "same-origin" never sends a URL to another site, and keeps the full Referer
# on our own requests, which Django's CSRF check over HTTPS relies on.
SECURE_REFERRER_POLICY = "same-origin"
