"""Django's makemessages (GNU gettext's xgettext), looking only where
customer-facing text lives: not the tests, the benchmarks, the front-end
libraries or what the tests leave behind. `manage.py makemessages -a`
brings every catalogue up to date; compilecatalogues compiles them."""

from typing import Any

from django.core.management.commands import makemessages


class Command(makemessages.Command):
    IGNORED = ["node_modules/*", "tests/*", "bench/*", "test-artifacts/*", "staticfiles/*", "var/*"]

    def handle(self, *args: Any, **options: Any) -> None:
        options["ignore_patterns"] = [*options.get("ignore_patterns", []), *self.IGNORED]
        # Line numbers change with every edit and say nothing to a translator.
        options["no_location"] = True
        super().handle(*args, **options)
