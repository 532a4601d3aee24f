"""App configs of the wiring package."""

from django.contrib.admin.apps import AdminConfig


class DeskAdminConfig(AdminConfig):
    """``django.contrib.admin`` with ``admin.site`` a DeskAdminSite (the admin
    role only), so every app's ``@admin.register`` lands on the guarded site."""

    default_site = "helpdesk.admin_site.DeskAdminSite"
