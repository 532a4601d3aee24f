"""The console's own pages beyond the ticket admin: each module adds its URL
patterns here. Every page is wrapped in the site's ``admin_view`` (signed in,
a staff role, CSRF); each view then checks the permission it needs."""

from typing import Any


def page_urls(site: Any) -> list[Any]:
    """URL patterns of the console's pages, each behind ``site.admin_view``."""
    from console import approvals, authority

    patterns: list[Any] = [*approvals.urls(site), *authority.urls(site)]
    return patterns
