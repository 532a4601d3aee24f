"""Compile the translation catalogues (locale/*/LC_MESSAGES/*.po) into the
.mo files Django reads, with Babel: pure Python, so a fresh machine needs no
GNU gettext (Django's compilemessages calls msgfmt). Both scripts run it; a
catalogue with a broken placeholder stops it, naming the entry."""

from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def catalogue_problems(catalog: Catalog) -> list[str]:
    """Each translation whose placeholders differ from its source's."""
    return [
        f"line {message.lineno}: {error}" for message, errors in catalog.check() for error in errors
    ]


class Command(BaseCommand):
    help = "Compile the translation catalogues (.po) into .mo files, without GNU gettext."

    def handle(self, *args: Any, **options: Any) -> None:
        sources = sorted(
            source
            for root in settings.LOCALE_PATHS
            for source in Path(root).glob("*/LC_MESSAGES/*.po")
        )
        if not sources:
            raise CommandError(f"No catalogue found under {settings.LOCALE_PATHS}.")
        for source in sources:
            with source.open("rb") as po:
                catalog = read_po(po, locale=source.parent.parent.name)
            problems = catalogue_problems(catalog)
            if problems:
                raise CommandError(f"{source}: " + "; ".join(problems))
            with source.with_suffix(".mo").open("wb") as mo:
                # Fuzzy entries are guesses nobody checked: English is better.
                write_mo(mo, catalog, use_fuzzy=False)
            translated = sum(1 for message in catalog if message.id and message.string)
            self.stdout.write(f"{source}: {translated} of {len(catalog)} messages translated")
