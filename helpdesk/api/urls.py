"""Version 1 of the REST API: each app contributes its own routes."""

from django.urls import include, path

from recovery.api.ticket_detail import TICKET_DETAIL
from tickets.api.views import ticket_urlpatterns

urlpatterns = [
    path("", include("accounts.urls")),
    # The tickets, answering with their detail as recovery completes it
    # (its restitutions, the customer's trust): composed here, where both
    # apps are known, since tickets never imports recovery.
    path("", include(ticket_urlpatterns(TICKET_DETAIL))),
    path("", include("tickets.urls")),
    path("", include("recovery.urls")),
    path("", include("inbound.urls")),
]
