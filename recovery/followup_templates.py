"""The follow-up plans' templates: written by supervisors, sent to customers.

They are Jinja2 templates rendered in its ``ImmutableSandboxedEnvironment``:
the sandbox, not a pattern over the source, is what keeps a template from
reaching past the plain values ``email_contexts`` gives it (no ``__class__``,
no ``str.format`` tricks, no changing the lists it is given). On top of
that, a template is checked when it is saved, so a supervisor hears of a
mistake on the form rather than a customer receiving a blank:

- only the tags a letter needs (``if``, ``for``, ``set``, ``filter``,
  ``with``); ``include``, ``extends``, ``import`` and the like read other
  templates and are refused;
- only the placeholders the context holds (``PLACEHOLDERS``), down to their
  fields: ``{{ ticket.assignee }}`` is a mistake, said so by name;
- no ``**``. The sandbox keeps a template from reaching past its context,
  not from exhausting the worker: ``**`` is refused as it renders too, and
  what ``*`` builds is bounded (_LetterEnvironment).

Templates written before were Django's: what they used reads the same in
Jinja2 (``{{ customer.name }}``, ``{% if %}``/``{% elif %}``/``{% for %}``,
``|lower``), ``capfirst`` and ``pluralize`` are filters here with Django's
meaning, and migrations 0012 and 0013 rewrote the rest
(recovery/followup_template_conversion.py). A row saved under the old rules
may still name a placeholder the context no longer has
(``ticket.our_part``): like Django, it renders as nothing."""

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, Undefined, nodes
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from core.errors import RuleViolation

# What a template may name: a plain value (None), fields by name (a mapping),
# or a list of items ([item]). It mirrors recovery.services.followup_emails.
# _context, and a test holds the two together.
Schema = None | Mapping[str, Any] | list[Any]

PLACEHOLDERS: Mapping[str, Schema] = {
    "customer": {"name": None, "email": None},
    "ticket": {"reference": None, "subject": None},
    # Only once the promise is kept (None before).
    "commitment": {
        "promise": None,
        "kept": None,
        "fulfilled_on": None,
        "due_on": None,
        "due_at": None,
    },
    "restitutions": [
        {
            "kind": None,
            "get_kind_display": None,
            "amount": None,
            "currency": None,
            "money": None,
            "described": None,
        }
    ],
    "restitutions_listed": None,
    "process_fixes": [{"failsafe_change": None, "done_on": None}],
}

# Tags that shape a letter. The others read templates or define code:
# a follow-up is text written to a customer.
ALLOWED_TAGS = frozenset(
    {"if", "elif", "else", "endif", "for", "endfor", "set", "endset"}
    | {"filter", "endfilter", "with", "endwith"}
)


class _Anything:
    """A name the template made itself (``{% set %}``, ``loop``): its fields
    are its own business, and the sandbox still guards them."""


ANYTHING = _Anything()


# What one ``*`` may build, in characters or items: a letter is a few
# hundred words, and ``{{ customer.name * 999999999 }}`` would build gigabytes.
REPEAT_LIMIT = 10_000
# Whole numbers multiplied stay below 2**NUMBER_BITS: no letter counts that
# far, and {% set n = n * n %} written out thirty times would otherwise take
# the worker's memory.
NUMBER_BITS = 256


def power_refused(line: int | None = None) -> str:
    where = f" on line {line}" if line else ""
    return f"A follow-up cannot raise a number to a power (**{where}): write the number itself."


class _LetterEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, with ``*`` and ``**`` through ``call_binop`` (Jinja2's
    documented pattern for bounding operators). Intercepted, they are not
    folded at compile time either: ``{{ 9 ** 9 ** 9 }}`` hung the save."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            raise SecurityError(power_refused())
        if operator == "*":
            _check_product(left, right)
        return super().call_binop(context, operator, left, right)


def _check_product(left: Any, right: Any) -> None:
    """SecurityError when ``left * right`` would be too big to build."""
    for repeated, times in ((left, right), (right, left)):
        if isinstance(repeated, str | list | tuple) and isinstance(times, int):
            if _size(repeated) * max(times, 0) > REPEAT_LIMIT:
                raise SecurityError(
                    f"A follow-up cannot repeat text or a list past {REPEAT_LIMIT:,} "
                    "characters or items."
                )
            return
    both_whole = isinstance(left, int) and isinstance(right, int)
    if both_whole and abs(left).bit_length() + abs(right).bit_length() > NUMBER_BITS:
        raise SecurityError("A follow-up cannot multiply numbers that large.")


def _size(value: str | list[Any] | tuple[Any, ...]) -> int:
    """``value``'s characters, or its items with their own characters (each
    at least one: ``[""] * n`` is n items), counted no further than the limit."""
    if isinstance(value, str):
        return len(value)
    total, pending = 0, [value]
    while pending and total <= REPEAT_LIMIT:
        for item in pending.pop()[: REPEAT_LIMIT + 1]:
            if isinstance(item, list | tuple):
                pending.append(item)
            total += max(len(item), 1) if isinstance(item, str) else 1
            if total > REPEAT_LIMIT:
                break
    return total


def capfirst(value: Any) -> str:
    """Django's ``capfirst``, which templates written for Django use: the
    first character upper-cased, the rest as it is (Jinja2's ``capitalize``
    lowers it, "a refund of 25,00 US$" would read "... us$")."""
    text = str(value)
    return text[:1].upper() + text[1:]


def pluralize(value: Any, suffixes: str = "s") -> str:
    """Django's ``pluralize``, which templates written for Django use:
    ``suffixes`` ("s", or "y,ies") by a count or a list's length; nothing
    for anything else."""
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


# Plain text: the HTML email escapes the rendered body (``|linebreaks`` in
# emails/followup.html), so escaping here would show "&amp;" to the customer.
# Undefined names render as nothing, as Django's did, for rows saved before
# placeholders were checked; new templates never get that far (see above).
_ENVIRONMENT = _LetterEnvironment(autoescape=False, undefined=ChainableUndefined)
# No globals (range, lipsum, cycler, namespace...): the context is all there is.
_ENVIRONMENT.globals.clear()
_ENVIRONMENT.filters.update(capfirst=capfirst, pluralize=pluralize)


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    # A plan has a handful of templates and a worker sends thousands of mails:
    # compile each once per process, not once per mail.
    return _ENVIRONMENT.from_string(source)


def render_template(source: str, context: dict[str, Any]) -> str:
    """A plan's template rendered as plain text; the blank lines its empty
    ``{% if %}`` parts leave are closed up."""
    text = _compiled(source).render(context)
    lines = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return re.sub(r"\n{3,}", "\n\n", lines)


def validate_template(source: str, *, field: str) -> str:
    """``source`` if it is a template a follow-up can send; RuleViolation on
    ``field`` with what is wrong (a syntax error with its line, a tag, a
    placeholder or an operator that is not allowed) otherwise."""
    try:
        tree = _compiled_tree(source)
        _Checker().check(tree)
    except _Problem as problem:
        raise RuleViolation(problem.message, field=field) from None
    return source


def compile_problem(source: str) -> str | None:
    """What keeps ``source`` from compiling at all (a tag not allowed, a
    syntax error, a filter there is not), as validate_template says it; None
    when it compiles, even if validate_template refuses what it reads."""
    try:
        _compiled_tree(source)
    except _Problem as problem:
        return problem.message
    return None


def _compiled_tree(source: str) -> nodes.Template:
    try:
        for tag, line in _tags(source):
            if tag not in ALLOWED_TAGS:
                raise _Problem(
                    f"The {tag} tag is not allowed in a follow-up (line {line}); "
                    "use if, for and set."
                )
        tree = _ENVIRONMENT.parse(source)
        # Unknown filters and tests are found when compiling, not parsing.
        _ENVIRONMENT.compile(tree)
    except TemplateSyntaxError as error:
        raise _Problem(
            f"The template has an error on line {error.lineno}: {error.message}"
        ) from None
    return tree


def _tags(source: str) -> Iterator[tuple[str, int]]:
    """Each block tag's name and line, read by Jinja2's own lexer (so text
    inside ``{% raw %}`` or a comment is not taken for a tag)."""
    after_begin = False
    for line, kind, value in _ENVIRONMENT.lex(source):
        if kind == "whitespace":
            continue
        if after_begin and kind == "name":
            yield value, line
        after_begin = kind == "block_begin"


def placeholders_listed() -> str:
    """The placeholders as a supervisor reads them, for the error message."""
    words: list[str] = []
    for name, schema in PLACEHOLDERS.items():
        if isinstance(schema, Mapping):
            words.extend(f"{name}.{field}" for field in schema)
        elif isinstance(schema, list):
            words.append(f"{name} (each with {', '.join(schema[0])})")
        else:
            words.append(name)
    return ", ".join(words)


class _Problem(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Checker:
    """Walks a parsed template and names the first placeholder (or field of
    one) the context does not have, an attribute the sandbox would refuse,
    or a ``**``."""

    def check(self, tree: nodes.Template) -> None:
        self._visit_all(tree.body, dict(PLACEHOLDERS))

    def _visit_all(self, body: list[nodes.Node], scope: dict[str, Any]) -> None:
        for node in body:
            self._visit(node, scope)

    def _visit(self, node: nodes.Node, scope: dict[str, Any]) -> None:
        if isinstance(node, nodes.For):
            self._visit(node.iter, scope)
            inner = dict(scope)
            item = self._resolve(node.iter, scope)
            each = item[0] if isinstance(item, list) else ANYTHING
            self._bind(node.target, each, inner)
            inner["loop"] = ANYTHING
            if node.test is not None:
                self._visit(node.test, inner)
            self._visit_all(node.body, inner)
            self._visit_all(node.else_, scope)
        elif isinstance(node, nodes.Assign):
            self._visit(node.node, scope)
            self._bind(node.target, ANYTHING, scope)
        elif isinstance(node, nodes.AssignBlock):
            self._visit_all(node.body, scope)
            self._bind(node.target, ANYTHING, scope)
        elif isinstance(node, nodes.With):
            inner = dict(scope)
            for value in node.values:
                self._visit(value, scope)
            for target in node.targets:
                self._bind(target, ANYTHING, inner)
            self._visit_all(node.body, inner)
        elif isinstance(node, nodes.Name | nodes.Getattr | nodes.Getitem):
            self._resolve(node, scope)
        elif isinstance(node, nodes.Pow):
            # Refused as it renders too; said here, on the form, with its line.
            raise _Problem(power_refused(node.lineno))
        else:
            for child in node.iter_child_nodes():
                self._visit(child, scope)

    def _bind(self, target: nodes.Node, schema: Any, scope: dict[str, Any]) -> None:
        if isinstance(target, nodes.Name):
            scope[target.name] = schema
            return
        for name in target.find_all(nodes.Name):  # {% for key, value in ... %}
            scope[name.name] = ANYTHING

    def _resolve(self, node: nodes.Node, scope: dict[str, Any]) -> Any:
        """What ``node`` names, by the schema: raises _Problem for what the
        context does not have."""
        if isinstance(node, nodes.Name):
            if node.name not in scope:
                raise _Problem(
                    f"A follow-up has no {{{{ {node.name} }}}}. "
                    f"It may use: {placeholders_listed()}."
                )
            return scope[node.name]
        if isinstance(node, nodes.Getattr):
            return self._field(node.node, node.attr, scope)
        if isinstance(node, nodes.Getitem):
            key = node.arg
            if isinstance(key, nodes.Const) and isinstance(key.value, str):
                return self._field(node.node, key.value, scope)
            self._visit(key, scope)
            base = self._resolve(node.node, scope)
            if isinstance(key, nodes.Const) and isinstance(base, list):
                return base[0]  # {{ restitutions.0 }}
            return ANYTHING
        self._visit(node, scope)
        return ANYTHING

    def _field(self, base: nodes.Node, name: str, scope: dict[str, Any]) -> Any:
        if name.startswith("_"):
            raise _Problem(f"A follow-up cannot read “{name}”: only the placeholders' fields.")
        owner = self._resolve(base, scope)
        if owner is ANYTHING:
            return ANYTHING
        path = _path(base)
        if isinstance(owner, Mapping):
            if name not in owner:
                raise _Problem(
                    f"A follow-up has no {{{{ {path}.{name} }}}}. {path} has {', '.join(owner)}."
                )
            return owner[name]
        if isinstance(owner, list):
            raise _Problem(
                f"{path} is a list: go through it with {{% for item in {path} %}} "
                f"and use the item's {', '.join(owner[0])}."
            )
        raise _Problem(f"{path} is a value and has no “{name}”; a filter may do what you need.")


def _path(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_path(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_path(node.node)}.{node.arg.value}"
    return "this value"
