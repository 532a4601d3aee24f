"""Create or update a staff user from the command line (first admin, CI, scripts)."""

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.roles import Role
from accounts.services import staff_issue_token, staff_upsert


class Command(BaseCommand):
    stealth_options = ("stdin",)
    help = (
        "Create a staff user with a role, or update the user with that username. "
        "With --token, the API token is printed on the last line."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--email")
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help="Read the password from standard input (one line), never from the arguments.",
        )
        parser.add_argument("--token", action="store_true", help="Print the user's API token.")

    def handle(self, *args: Any, **options: Any) -> None:
        password = None
        if options["password_stdin"]:
            stdin = options.get("stdin") or sys.stdin
            password = stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError("--password-stdin was given but standard input had no password.")
        try:
            result = staff_upsert(
                username=options["username"],
                role=Role(options["role"]),
                email=options["email"],
                password=password,
            )
        except ValidationError as exc:
            raise CommandError(_describe(exc)) from None

        verb = "Created" if result.created else "Updated"
        self.stdout.write(f"{verb} {options['role']} {result.user.username!r}.")
        if options["token"]:
            self.stdout.write(staff_issue_token(user=result.user))


def _describe(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)
