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
  fields: ``{{ ticket.assignee }}`` is a mistake, said so by name.

Templates written before (Django's syntax) read the same in Jinja2 for what
they used: ``{{ customer.name }}``, ``{% if %}``/``{% elif %}``/``{% for %}``,
``|lower``; migration 0012 rewrote ``forloop`` and ``{% empty %}``. A row
saved under the old rules may still name a placeholder the context no longer
has (``ticket.our_part``): like Django, it renders as nothing."""

import re
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, Template, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

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


# Plain text: the HTML email escapes the rendered body (``|linebreaks`` in
# emails/followup.html), so escaping here would show "&amp;" to the customer.
# Undefined names render as nothing, as Django's did, for rows saved before
# placeholders were checked; new templates never get that far (see above).
_ENVIRONMENT = ImmutableSandboxedEnvironment(autoescape=False, undefined=ChainableUndefined)
# No globals (range, lipsum, cycler, namespace...): the context is all there is.
_ENVIRONMENT.globals.clear()


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
    ``field`` with what is wrong (a syntax error with its line, a tag or a
    placeholder that is not allowed) otherwise."""
    try:
        for tag, line in _tags(source):
            if tag not in ALLOWED_TAGS:
                raise RuleViolation(
                    f"The {tag} tag is not allowed in a follow-up (line {line}); "
                    "use if, for and set.",
                    field=field,
                )
        tree = _ENVIRONMENT.parse(source)
        # Unknown filters and tests are found when compiling, not parsing.
        _ENVIRONMENT.compile(tree)
    except TemplateSyntaxError as error:
        raise RuleViolation(
            f"The template has an error on line {error.lineno}: {error.message}", field=field
        ) from None
    problem = _Checker().problem(tree)
    if problem is not None:
        raise RuleViolation(problem, field=field)
    return source


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


class _Unknown(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class _Checker:
    """Walks a parsed template and names the first placeholder (or field of
    one) the context does not have, or an attribute the sandbox would refuse."""

    def problem(self, tree: nodes.Template) -> str | None:
        try:
            self._visit_all(tree.body, dict(PLACEHOLDERS))
        except _Unknown as unknown:
            return unknown.message
        return None

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
        """What ``node`` names, by the schema: raises _Unknown for what the
        context does not have."""
        if isinstance(node, nodes.Name):
            if node.name not in scope:
                raise _Unknown(
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
            raise _Unknown(f"A follow-up cannot read “{name}”: only the placeholders' fields.")
        owner = self._resolve(base, scope)
        if owner is ANYTHING:
            return ANYTHING
        path = _path(base)
        if isinstance(owner, Mapping):
            if name not in owner:
                raise _Unknown(
                    f"A follow-up has no {{{{ {path}.{name} }}}}. {path} has {', '.join(owner)}."
                )
            return owner[name]
        if isinstance(owner, list):
            raise _Unknown(
                f"{path} is a list: go through it with {{% for item in {path} %}} "
                f"and use the item's {', '.join(owner[0])}."
            )
        raise _Unknown(f"{path} is a value and has no “{name}”; a filter may do what you need.")


def _path(node: nodes.Node) -> str:
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_path(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_path(node.node)}.{node.arg.value}"
    return "this value"
