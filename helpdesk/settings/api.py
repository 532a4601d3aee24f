"""The REST API (Django REST framework) and its OpenAPI schema."""

from helpdesk.settings.environment import env

REST_FRAMEWORK = {
    # Token first: DRF answers an anonymous request with the first
    # authenticator's challenge, and only a challenge makes that a 401.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "helpdesk.api.throttling.ThrottledTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Views that name a throttle_scope (the inbound email endpoint) are
    # limited per caller; failed tokens and the customers' pages per address
    # (helpdesk/api/throttling.py). All answer 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["helpdesk.api.throttling.ScopedThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "failed_token": env("HELPDESK_THROTTLE_FAILED_TOKEN", default="10/minute"),
        "customer_link": env("HELPDESK_THROTTLE_CUSTOMER_LINK", default="60/minute"),
        # The contact form, by client address and by the email typed in it.
        "contact_ip": env("HELPDESK_THROTTLE_CONTACT_IP", default="10/hour"),
        "contact_address": env("HELPDESK_THROTTLE_CONTACT_ADDRESS", default="5/hour"),
        # Asking for a fresh case link, by client address and by email address.
        "case_link_ip": env("HELPDESK_THROTTLE_CASE_LINK_IP", default="10/hour"),
        "case_link_address": env("HELPDESK_THROTTLE_CASE_LINK_ADDRESS", default="3/hour"),
        "inbound": env("HELPDESK_THROTTLE_INBOUND", default="120/minute"),
    },
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "helpdesk.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "EXCEPTION_HANDLER": "helpdesk.api.exceptions.problem_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "helpdesk.api.schema.ProblemAutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
}

# JSON with text no column can hold (a NUL, an unpaired surrogate) is a 400
# (a separate statement, so edits to the dict above merge cleanly).
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["helpdesk.api.parsers.StrictJSONParser"]

SPECTACULAR_SETTINGS = {
    "TITLE": "Service recovery helpdesk API",
    "DESCRIPTION": (
        "Tickets that walk every mishap through acknowledgement, apology and "
        "commitment; restitution within each agent's authority; follow-ups over "
        "the weeks after. Errors are RFC 9457 problem details."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "TicketStatusEnum": "tickets.models.ticket.Status",
        "TicketKindEnum": "tickets.models.ticket.Kind",
        "RestitutionKindEnum": "recovery.models.authority.RestitutionKind",
        "RestitutionStatusEnum": "recovery.models.restitution.Restitution.Status",
        "ApprovalStatusEnum": "recovery.models.restitution.ApprovalRequest.Status",
    },
}
