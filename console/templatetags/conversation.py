"""Showing messages: the new words first, the quoted history folded away."""

import re

from django import template

register = template.Library()

# Where a reply's quoted history starts, in the common mail clients.
_QUOTE_START = re.compile(
    r"^(>|On .{3,200}wrote:\s*$|-{2,}\s*Original Message\s*-{2,}|From: .+|Le .{3,200}a écrit\s*:)",
    re.IGNORECASE,
)


@register.filter
def split_quoted(body: str) -> tuple[str, str]:
    """``(fresh, quoted)``: the text before the first quoted line, and the rest."""
    lines = body.splitlines()
    for index, line in enumerate(lines):
        if index and _QUOTE_START.match(line.strip()):
            fresh = "\n".join(lines[:index]).rstrip()
            if fresh:
                return fresh, "\n".join(lines[index:])
    return body, ""
