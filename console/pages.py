"""The console's own pages beyond the ticket admin: each module adds its URL
patterns here. Every page is wrapped in the site's ``admin_view`` (signed in,
a staff role, CSRF); each view then checks the permission it needs."""

from typing import Any

from django.urls import path


def page_urls(site: Any) -> list[Any]:
    """URL patterns of the console's pages, each behind ``site.admin_view``."""
    from console import (
        approvals,
        authority,
        customers,
        dashboard,
        followup_plans,
        notifications,
        presence,
        process_fixes,
        saved_replies,
        saved_views,
    )

    view = site.admin_view
    patterns: list[Any] = [
        path("dashboard/", view(dashboard.dashboard_view), name="dashboard"),
        path(
            "dashboard/export.csv",
            view(dashboard.dashboard_export_view),
            name="dashboard_export",
        ),
    ]
    patterns += approvals.urls(site)
    patterns += authority.urls(site)
    patterns += customers.urls(site)
    patterns += followup_plans.urls(site)
    patterns += notifications.urls(site)
    patterns += process_fixes.urls(site)
    patterns += saved_views.urls(site)
    patterns += saved_replies.urls(site)
    patterns += presence.urls(site)
    return patterns
