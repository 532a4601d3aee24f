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
- only the filters a letter needs (recovery/followup_template_filters.py),
  named when one is not, even in an ``{% if %}``;
- only the placeholders the context holds (``PLACEHOLDERS``), down to their
  fields: ``{{ ticket.assignee }}`` is a mistake, said so by name;
- no ``**``, no ``%`` on text, no calls but ``loop.cycle`` and
  ``loop.changed``, nothing nested past NESTING_LIMIT, and no constant too
  big to build (``"x..."|replace("x", "xx")``).

The sandbox keeps a template from reaching past its context, not from
exhausting the web request that saves it or the worker that sends it:
recovery/followup_template_limits.py bounds what a template builds (each
text, the letter, what ``*`` and ``+`` build, what a render builds in all),
how often its loops go round and how long it renders. Refused as it
renders, it raises SecurityError, and its follow-up fails for good with the
reason (recovery.services.followup_emails, outbox.sources.email_or_unsendable).

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

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, nodes
from jinja2.optimizer import Optimizer
from jinja2.sandbox import SecurityError
from jinja2.visitor import NodeTransformer

from core.errors import RuleViolation
from recovery.followup_template_filters import LETTER_FILTERS
from recovery.followup_template_limits import (
    TEXT_LIMIT,
    LetterEnvironment,
    call_refused,
    format_refused,
    power_refused,
)

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


# Plain text: the HTML email escapes the rendered body (``|linebreaks`` in
# emails/followup.html), so escaping here would show "&amp;" to the customer.
# Undefined names render as nothing, as Django's did, for rows saved before
# placeholders were checked; new templates never get that far (see above).
_ENVIRONMENT = LetterEnvironment(
    filters=LETTER_FILTERS, autoescape=False, undefined=ChainableUndefined
)


# A letter's deepest part is an {% if %} in a {% for %} in an {% if %}, a
# filter or two on a field: some ten levels. Compiling an expression nested
# hundreds deep took seconds, and recursed past Python's limit.
NESTING_LIMIT = 50
NESTED_TOO_DEEPLY = (
    "The template is nested too deeply (brackets, filters or tags one inside another) "
    "to be read: write it flatter."
)


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    # A plan has a handful of templates and a worker sends thousands of mails:
    # compile each once per process, not once per mail.
    return _ENVIRONMENT.from_string(source)


def render_template(source: str, context: dict[str, Any]) -> str:
    """A plan's template rendered as plain text; the blank lines its empty
    ``{% if %}`` parts leave are closed up. SecurityError when it would
    pass a bound (recovery/followup_template_limits.py), the letter's own
    length among them: written piece by piece, it stops there."""
    pieces, written = [], 0
    for piece in _compiled(source).generate(context):
        written += len(piece)
        if written > TEXT_LIMIT:
            raise SecurityError(
                f"A follow-up cannot be longer than {TEXT_LIMIT:,} characters once written."
            )
        pieces.append(piece)
    text = "".join(pieces)
    lines = "\n".join(line.rstrip() for line in text.strip().splitlines())
    return re.sub(r"\n{3,}", "\n\n", lines)


def validate_template(source: str, *, field: str) -> str:
    """``source`` if it is a template a follow-up can send; RuleViolation on
    ``field`` with what is wrong (a syntax error with its line, a tag, a
    placeholder, a filter or an operator that is not allowed, a constant
    too big to build) otherwise."""
    try:
        tree = _compiled_tree(source)
        _Checker().check(tree)
        _Folding(_ENVIRONMENT).visit(tree, nodes.EvalContext(_ENVIRONMENT))
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
        _read(tree)
        # Unknown tests are found when compiling, not parsing.
        _ENVIRONMENT.compile(tree)
    except TemplateSyntaxError as error:
        raise _Problem(
            f"The template has an error on line {error.lineno}: {error.message}"
        ) from None
    except (RecursionError, SyntaxError):
        # Jinja2 reads by recursion ((((...))) a thousand deep), and Python
        # refuses the code it writes for twenty loops one in another: a
        # server error, not a message, otherwise.
        raise _Problem(NESTED_TOO_DEEPLY) from None
    return tree


def _read(tree: nodes.Template) -> None:
    """_Problem for a filter the sandbox has not, or a template nested past
    NESTING_LIMIT; walked without recursion, before anything recurses more."""
    pending: list[tuple[nodes.Node, int]] = [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        if depth > NESTING_LIMIT:
            raise _Problem(NESTED_TOO_DEEPLY)
        # Compiling finds unknown filters too, but not in an {% if %}: it
        # leaves those to fail as they render.
        if isinstance(node, nodes.Filter) and node.name not in _ENVIRONMENT.filters:
            raise _Problem(
                f"The template has an error on line {node.lineno}: No filter named "
                f"{node.name!r}. A follow-up may use {', '.join(sorted(LETTER_FILTERS))}."
            )
        children = list(node.iter_child_nodes())
        pending.extend((child, depth + 1) for child in reversed(children))


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
        # Refused as they render too; said here, on the form, with their line.
        elif isinstance(node, nodes.Pow):
            raise _Problem(power_refused(node.lineno))
        elif isinstance(node, nodes.Mod) and _is_text(node.left):
            raise _Problem(format_refused(node.lineno))
        elif isinstance(node, nodes.Call):
            self._visit(node.node, scope)  # "customer.name is a value" says more
            if not _is_loop_helper(node.node):
                raise _Problem(call_refused(node.lineno))
            for child in node.iter_child_nodes(exclude=("node",)):
                self._visit(child, scope)
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


def _is_text(node: nodes.Node) -> bool:
    return isinstance(node, nodes.Const) and isinstance(node.value, str)


def _is_loop_helper(node: nodes.Node) -> bool:
    """``loop.cycle`` or ``loop.changed``, the calls a template may make."""
    return (
        isinstance(node, nodes.Getattr)
        and isinstance(node.node, nodes.Name)
        and node.node.name == "loop"
        and node.attr in {"cycle", "changed"}
    )


class _Folding(Optimizer):
    """Jinja2's folding of constants, bottom up, saying which bound stopped
    a fold (``"x..."|replace("x", "xx")`` past the limit): compiling keeps
    quiet and leaves it to fail each time the letter is sent."""

    def generic_visit(self, node: nodes.Node, *args: Any, **kwargs: Any) -> nodes.Node:
        node = NodeTransformer.generic_visit(self, node, *args, **kwargs)
        if not isinstance(node, nodes.Expr):
            return node
        try:
            value = node.as_const(args[0] if args else None)
        except nodes.Impossible as impossible:
            if isinstance(impossible.__cause__, SecurityError):
                raise _Problem(f"Line {node.lineno}: {impossible.__cause__}") from None
            return node
        try:
            return nodes.Const.from_untrusted(
                value, lineno=node.lineno, environment=self.environment
            )
        except nodes.Impossible:
            return node


def _path(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_path(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_path(node.node)}.{node.arg.value}"
    return "this value"
