"""Recompute every stored day of the trust dashboard from the source tables."""

from datetime import date
from time import monotonic
from typing import Any

from django.core.management.base import BaseCommand

from recovery.metrics.rollup import daily_figures_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the trust dashboard's daily figures from the source tables: for a new "
        "install with history, after TIME_ZONE changes, or after rows were deleted. "
        "Beat otherwise keeps them current and builds the history by itself, a quarter a run."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        began = monotonic()

        def progress(first: date, last: date) -> None:
            self.stderr.write(
                f"  {first.isoformat()} to {last.isoformat()} ({monotonic() - began:.1f} s)"
            )

        days = daily_figures_rebuild(progress=progress)
        self.stderr.write(f"Rebuilt {days} days in {monotonic() - began:.1f} s.")
