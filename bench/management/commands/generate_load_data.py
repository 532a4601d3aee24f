"""Fill a PostgreSQL database with a realistic desk for the benchmarks.

    python manage.py generate_load_data --tickets 200000 --messages-per-ticket 10 --reset

Writes with COPY in one transaction (see ``bench.generate``), then ANALYZE.
Without ``--reset`` it refuses a database that already has tickets.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from bench.generate import GenerateError, generate


class Command(BaseCommand):
    help = "Generate load data (tickets, messages, recovery rows) on PostgreSQL, with COPY."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--tickets", type=int, required=True)
        parser.add_argument("--messages-per-ticket", type=int, default=10)
        parser.add_argument(
            "--long-conversation",
            type=int,
            default=500,
            help="Messages on the one long ticket the detail benchmarks open.",
        )
        parser.add_argument("--seed", type=int, default=8)
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Empty tickets, queues, customers and everything hanging off them first.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # The progress line rewrites itself with "\r": no newline added per write.
        self.stderr.ending = ""
        try:
            summary = generate(
                tickets=options["tickets"],
                messages_per_ticket=options["messages_per_ticket"],
                seed=options["seed"],
                reset_first=options["reset"],
                long_conversation=options["long_conversation"],
                out=self.stderr,  # type: ignore[arg-type]
            )
        except GenerateError as error:
            raise CommandError(str(error)) from None
        rows = sum(summary.counts.values())
        for table, count in sorted(summary.counts.items()):
            self.stdout.write(f"{table:24} {count:>12,}")
        self.stdout.write(
            f"{rows:,} rows in {summary.seconds:.1f} s; the long conversation is ticket "
            f"{summary.long_ticket_id}."
        )
