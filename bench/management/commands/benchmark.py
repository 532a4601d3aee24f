"""Run the workloads beside their floors and print the table (and JSON).

    python manage.py benchmark                  # every workload, full scale
    python manage.py benchmark --only queue_list,search --repeat 50
    python manage.py benchmark --scale tiny     # the suite's smoke run
    python manage.py benchmark --only grants --pooler pgbouncer   # or pool, direct

It measures the database it is pointed at (DATABASE_URL): fill it first with
``generate_load_data``. Nothing passes or fails on a timing.
"""

import importlib
import os
import pkgutil
import platform
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

import bench.workloads
from bench.measure import Result, table, write_json
from bench.servers import POOLERS
from bench.workloads import WORKLOADS, Context


def discover() -> None:
    for module in pkgutil.iter_modules(bench.workloads.__path__):
        importlib.import_module(f"bench.workloads.{module.name}")


class Command(BaseCommand):
    help = "Measure each workload beside its floor; print a table and write JSON."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--only", default="", help="Comma-separated workload names.")
        parser.add_argument("--scale", choices=["full", "tiny"], default="full")
        parser.add_argument("--repeat", type=int, default=100, help="Timed runs per workload.")
        parser.add_argument("--json", default="", help="Also write the results to this file.")
        parser.add_argument(
            "--pooler",
            choices=POOLERS,
            default=os.environ.get("BENCH_POOLER") or "direct",
            help="How the servers the write workloads start reach the database: "
            "direct (CONN_MAX_AGE), through a PgBouncer in transaction mode, or on "
            "psycopg's pool (default: BENCH_POOLER, else direct).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        discover()
        names = [n for n in options["only"].split(",") if n] or list(WORKLOADS)
        unknown = sorted(set(names) - set(WORKLOADS))
        if unknown:
            raise CommandError(
                f"Unknown workload {', '.join(unknown)}; known: {', '.join(sorted(WORKLOADS))}."
            )
        if options["repeat"] < 1:
            raise CommandError("--repeat must be at least 1.")
        context = Context(scale=options["scale"], repeat=options["repeat"])
        results: list[Result] = []
        # Read by bench.servers when it starts gunicorn (the grants workload);
        # put back after, so a caller's process (the tests) keeps its own.
        previous = os.environ.get("BENCH_POOLER")
        os.environ["BENCH_POOLER"] = options["pooler"]
        try:
            for index, name in enumerate(names, start=1):
                self.stderr.write(f"[{index}/{len(names)}] {name} ...")
                results.append(WORKLOADS[name](context))
        finally:
            if previous is None:
                del os.environ["BENCH_POOLER"]
            else:
                os.environ["BENCH_POOLER"] = previous
        self.stdout.write(table(results))
        if options["json"]:
            meta = {
                "at": timezone.now().isoformat(),
                "machine": f"{platform.machine()}, {platform.processor() or 'cpu'}",
                "python": platform.python_version(),
                "database": connection.vendor,
                "scale": options["scale"],
                "repeat": options["repeat"],
                "pooler": options["pooler"],
            }
            write_json(results, options["json"], meta=meta)
            self.stderr.write(f"Wrote {options['json']}")
