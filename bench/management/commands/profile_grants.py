"""Where a grant's time goes: grants through the API view in this process,
one after another, under cProfile. Prints the CPU time per grant, the
queries per grant, and the profile's top lines. See docs/performance.md.

    python manage.py profile_grants --grants 300 --top 25
"""

import cProfile
import io
import pstats
import time
import uuid
from argparse import ArgumentParser
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.test import Client

from bench.measure import counting_queries
from bench.workloads.write.grants import grant_body, grant_setup
from bench.workloads.write.tags import run_tag


class Command(BaseCommand):
    help = "Profile grants through the API in-process (CPU per grant and the top lines)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--grants", type=int, default=300)
        parser.add_argument("--top", type=int, default=25)
        parser.add_argument("--sort", default="cumulative", choices=["cumulative", "tottime"])

    def handle(self, *args: Any, **options: Any) -> None:
        count = options["grants"]
        if count < 1:
            raise CommandError("--grants is at least 1.")
        # A budget that never runs out: every grant is one within limits.
        _, token, tickets = grant_setup(
            clients=1, tickets_per_client=20, cap=Decimal("1000000.00"), tag=run_tag()
        )
        mine = tickets[0]
        client = Client(SERVER_NAME="127.0.0.1")
        body = grant_body()

        def grant(n: int) -> None:
            response = client.post(
                f"/api/v1/tickets/{mine[n % len(mine)]}/restitutions/",
                body,
                content_type="application/json",
                headers={"Authorization": f"Token {token}", "Idempotency-Key": uuid.uuid4().hex},
            )
            if response.status_code != 201:
                raise CommandError(f"A grant failed: {response.status_code} {response.content!r}")

        for n in range(len(mine)):  # every ticket's first grant creates its counters
            grant(n)
        with counting_queries() as queries:
            grant(0)
        profile = cProfile.Profile()
        cpu, wall = time.process_time(), time.perf_counter()
        profile.enable()
        for n in range(count):
            grant(n)
        profile.disable()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        self.stdout.write(
            f"{count} grants: {1000 * cpu / count:.2f} ms CPU and {1000 * wall / count:.2f} ms "
            f"wall each (under the profiler), {queries[0]} queries each\n"
        )
        out = io.StringIO()
        pstats.Stats(profile, stream=out).strip_dirs().sort_stats(options["sort"]).print_stats(
            options["top"]
        )
        self.stdout.write(out.getvalue())
