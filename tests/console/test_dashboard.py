"""The supervisor's trust dashboard: charts, a date range, a CSV export."""

from pathlib import Path

from django.contrib.staticfiles import finders

CHART_JS = "vendor/chart.js/chart.umd.min.js"


def test_chart_js_is_installed_and_found_by_staticfiles() -> None:
    # npm ci (scripts/lib.sh ensure_node_modules) put it there; without it the
    # dashboard has no charts, so fail loudly rather than show empty canvases.
    found = finders.find(CHART_JS)

    assert found, f"{CHART_JS} not found: run `npm ci` (Node.js 18+) at the repository root."
    assert "Chart.js v4." in Path(str(found)).read_text(encoding="utf-8")[:400]
