"""The filters a follow-up may use, and no others.

A letter changes a word's case, trims it, lists gifts, counts them and
picks a word for one or several: LETTER_FILTERS holds what does that. The
rest of Jinja2's build text to a width or a count given as an argument
(``center``, ``indent``, ``wordwrap``, ``format``, ``batch``, ``slice``,
``filesizeformat``...) or call other filters by name (``map``, ``select``):
a template naming one is refused when saved (recovery/followup_templates.py).

Each allowed filter is bounded (recovery/followup_template_limits.py), and
refuses before building anything large, also when compiling calls it on
constants (``{{ "x"|upper }}`` is folded then):

- those that write what they are given as text measure it first (a list
  written out) and check what they give back, at most a few times as long
  (``|upper`` writes "ﬃ" as "FFI", ``|escape`` "&" as "&amp;");
- ``|join`` and ``|replace`` measure what they would build before building it;
- ``|round`` takes at most ROUND_PLACES places (``|round(999999999, "floor")``
  computes 10 to that power), ``|sum`` adds numbers, not lists;
- the rest cannot give back more than they were given.

``capfirst`` and ``pluralize`` are Django's, which templates written for
Django use, with Django's meaning (migration 0013 kept them)."""

import functools
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from jinja2 import Undefined, pass_environment, pass_eval_context
from jinja2.defaults import DEFAULT_FILTERS
from jinja2.environment import Environment
from jinja2.filters import do_replace, do_round, make_attrgetter, sync_do_join, sync_do_sum
from jinja2.nodes import EvalContext
from jinja2.sandbox import SecurityError

from recovery.followup_template_limits import (
    TEXT_LIMIT,
    bounded_text,
    checked_text,
    text_refused,
    text_size,
)

ROUND_PLACES = 20


def capfirst(value: Any) -> str:
    """Django's ``capfirst``: the first character upper-cased, the rest as
    it is (Jinja2's ``capitalize`` lowers it, "a refund of 25,00 US$" would
    read "... us$")."""
    text = str(value)
    return text[:1].upper() + text[1:]


def pluralize(value: Any, suffixes: str = "s") -> str:
    """Django's ``pluralize``: ``suffixes`` ("s", or "y,ies") by a count or
    a list's length; nothing for anything else."""
    if "," not in suffixes:
        suffixes = f",{suffixes}"
    words = suffixes.split(",")
    if len(words) > 2 or isinstance(value, Undefined):
        return ""
    singular, plural = words
    try:
        return singular if float(value) == 1 else plural
    except ValueError:
        return ""
    except TypeError:
        try:
            return singular if len(value) == 1 else plural
        except TypeError:
            return ""


def _as_text(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func``, which writes what it is given as text: each argument
    measured before (the environment Jinja2 hands some is a short text),
    what it gives back checked after."""

    @functools.wraps(func)  # keeps Jinja2's mark of what to pass it
    def bounded(*args: Any, **kwargs: Any) -> Any:
        for value in (*args, *kwargs.values()):
            if text_size(value) > TEXT_LIMIT:
                raise SecurityError(text_refused())
        return checked_text(func(*args, **kwargs))

    return bounded


@pass_eval_context
def join(eval_ctx: EvalContext, value: Any, d: Any = "", attribute: Any = None) -> str:
    """``|join``: the items, and the separator between each two, measured
    before they are joined."""
    items = list(value)
    if attribute is not None:
        items = list(map(make_attrgetter(eval_ctx.environment, attribute), items))
    total = text_size(d) * max(len(items) - 1, 0)
    for item in items:
        if total > TEXT_LIMIT:
            break
        total += text_size(item)
    if total > TEXT_LIMIT:
        raise SecurityError(text_refused())
    return sync_do_join(eval_ctx, items, d)


@pass_eval_context
def replace(eval_ctx: EvalContext, s: Any, old: Any, new: Any, count: Any = None) -> str:
    """``|replace``: what the replacements add, counted before they are made."""
    text, old_text, new_text = bounded_text(s), bounded_text(old), bounded_text(new)
    found = text.count(old_text) if old_text else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    if len(text) + found * (len(new_text) - len(old_text)) > TEXT_LIMIT:
        raise SecurityError(text_refused())
    return do_replace(eval_ctx, s, old, new, count)


def round_(value: Any, precision: Any = 0, method: Any = "common") -> float:
    """``|round``, to at most ROUND_PLACES places."""
    if not isinstance(precision, int) or abs(precision) > ROUND_PLACES:
        raise SecurityError(f"A follow-up rounds to at most {ROUND_PLACES} places.")
    return do_round(value, precision, method)


@pass_environment
def sum_(environment: Environment, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
    """``|sum`` of numbers: started from a list, it would add lists up."""
    if not isinstance(start, int | float | Decimal):
        raise SecurityError("A follow-up adds up numbers only.")
    return sync_do_sum(environment, iterable, attribute, start)


_TEXT = ("capitalize", "e", "escape", "lower", "string", "striptags", "title", "trim", "upper")
_NOT_GROWING = (
    *("abs", "count", "d", "default", "first", "float", "int", "last", "length", "list"),
    *("max", "min", "reverse", "sort", "unique"),
)

LETTER_FILTERS: Mapping[str, Callable[..., Any]] = {
    **{name: _as_text(DEFAULT_FILTERS[name]) for name in _TEXT},
    # Its length is checked, not capped: what it gives back is never longer
    # than what it was given and its ending.
    "truncate": _as_text(DEFAULT_FILTERS["truncate"]),
    "wordcount": _as_text(DEFAULT_FILTERS["wordcount"]),
    "capfirst": _as_text(capfirst),
    "join": join,
    "replace": replace,
    "round": round_,
    "sum": sum_,
    "pluralize": pluralize,
    **{name: DEFAULT_FILTERS[name] for name in _NOT_GROWING},
}
