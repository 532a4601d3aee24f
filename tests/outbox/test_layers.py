"""The outbox is at the bottom of the layers: tickets, recovery and accounts
use it, and it imports none of them (their sources register with it)."""

import ast
from pathlib import Path

from django.conf import settings

ABOVE = {"accounts", "tickets", "recovery", "inbound", "console", "demo", "bench", "helpdesk"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_the_outbox_imports_no_app_above_it() -> None:
    offending = {
        f"{path.relative_to(settings.BASE_DIR)}: {name}"
        for path in (Path(settings.BASE_DIR) / "outbox").rglob("*.py")
        for name in imported_modules(path)
        if name.split(".")[0] in ABOVE
    }

    assert offending == set()
    assert len(list((Path(settings.BASE_DIR) / "outbox").rglob("*.py"))) > 5  # it looked
