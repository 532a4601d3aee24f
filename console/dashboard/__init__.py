"""The supervisor's trust dashboard: the figures of ``recovery.metrics`` for a
date range, as headline numbers, charts (Chart.js, drawn from a JSON blob) and
a CSV export. It reads only; the figures come from the daily rollups, so the
page costs the same queries whatever the size of the desk and the range.

``ranges`` reads the range asked for, ``figures`` gathers what the page
shows, ``charts`` what dashboard.js draws, ``views`` renders the page and
``export`` writes the CSV."""

from console.dashboard.export import dashboard_export_view
from console.dashboard.views import dashboard_view

__all__ = ["dashboard_export_view", "dashboard_view"]
