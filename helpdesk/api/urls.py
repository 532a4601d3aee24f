"""Version 1 of the REST API: each app contributes its own routes."""

from django.urls import include, path

urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("tickets.urls")),
    path("", include("recovery.urls")),
    path("", include("inbound.urls")),
]
