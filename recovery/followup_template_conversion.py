"""Follow-up templates written in Django's syntax, rewritten in Jinja2's
(migration 0013; 0012 did only ``forloop`` and ``{% empty %}``). A row still
in Django's syntax does not compile in recovery/followup_templates.py's
sandbox, so its follow-ups would fail for good when sent.

What a letter used, rewritten to read as Django rendered it (plain text,
no escaping):

- ``{% comment %}...{% endcomment %}`` becomes ``{# ... #}``;
- a filter's argument, ``|name:"arg"`` or ``|name:arg``, becomes ``|name("arg")``;
- ``|default:"x"`` becomes ``|default("x", true)``: Django's replaces any
  false value (an empty ``restitutions_listed``), Jinja2's only a missing one;
- ``|yesno:"yes,no,maybe"`` and ``{% firstof a b %}`` become conditional
  expressions (``"yes" if a else "no"``, ``a or b``), which is what they are;
- ``|capfirst`` and ``|pluralize`` stay: the sandbox has filters of those
  names with Django's meaning (Jinja2's ``capitalize`` would write "US$"
  as "us$", and nothing built in tells one item from several);
- ``|date`` and ``|linebreaksbr`` are dropped. The dates a follow-up reads
  (``fix.done_on``, ``commitment.fulfilled_on``) are text already, written
  as the customer reads them, on which Django's ``date`` rendered nothing;
  and the email turns the text's line breaks into HTML ones itself, where
  Django's ``<br>`` showed the customer a literal "<br>".

Anything else is left as it is: ``{% now %}`` has nothing to read the time
from in the sandbox, and the migration names the rows it could not convert.

No models here: the migration and the tests call ``django_to_jinja`` as it is.
"""

import json
import re
from collections.abc import Callable

# Django's own tokenising (django.template.base.tag_re): a tag never spans lines.
_TAG = re.compile(r"{%.*?%}|{{.*?}}|{#.*?#}")
_COMMENT = re.compile(
    r"{%\s*comment(?:\s+(?P<note>[^%]*?))?\s*%}(?P<text>.*?){%\s*endcomment\s*%}", re.DOTALL
)
# A block tag's words, quoted strings kept whole (django.utils.text.smart_split).
_WORD = re.compile(r"""(?:[^\s'"]*(?:(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')[^\s'"]*)+)|\S+""")
# A filter expression, as django.template.base.FilterExpression reads it.
_STRING = r""""[^"\\]*(?:\\.[^"\\]*)*"|'[^'\\]*(?:\\.[^'\\]*)*'"""
_OPERAND = rf"{_STRING}|[\w.]+|[-+.]?\d[\d.e]*"
_BASE = re.compile(_OPERAND)
_FILTER = re.compile(rf"\s*\|\s*(?P<name>\w+)(?::(?P<arg>{_OPERAND}))?")
_KEYWORD = re.compile(r"(\w+=)(.+)")  # {% with total=restitutions|length %}
_PLAIN_NAME = re.compile(r"[\w.]+")

DJANGO_YES_NO_MAYBE = "yes,no,maybe"


class _Unconvertible(Exception):
    """A filter used in a way Jinja2 has no equivalent for: the tag is left as it is."""


def django_to_jinja(source: str, *, yes_no_maybe: str = DJANGO_YES_NO_MAYBE) -> str:
    """``source`` with Django's syntax rewritten as Jinja2's (see above);
    what is already Jinja2's, or has no equivalent, is left as it is.
    ``yes_no_maybe`` is what Django's ``|yesno`` without an argument said in
    the text's language (its catalogue's "yes,no,maybe")."""
    source = _COMMENT.sub(_comment, source)
    return _TAG.sub(lambda tag: _tag(tag.group(), yes_no_maybe), source)


def _comment(match: re.Match[str]) -> str:
    note = f"{match['note']} " if match["note"] else ""
    # Jinja2's comment ends at the first "#}": one inside would end it early.
    return "{# " + (note + match["text"]).replace("#}", "# }") + " #}"


def _tag(tag: str, yes_no_maybe: str) -> str:
    inner = tag[2:-2]
    try:
        if tag.startswith("{{"):
            stripped = inner.strip()
            converted = _expression(stripped, yes_no_maybe)
            if converted == stripped:
                return tag
            start = inner[: len(inner) - len(inner.lstrip())]
            end = inner[len(inner.rstrip()) :]
            return "{{" + start + converted + end + "}}"
        if tag.startswith("{%"):
            return _block(tag, inner, yes_no_maybe)
    except _Unconvertible:
        pass
    return tag


def _block(tag: str, inner: str, yes_no_maybe: str) -> str:
    words = [word.group() for word in _WORD.finditer(inner)]
    if words and words[0] == "firstof":
        return _firstof(words[1:], yes_no_maybe)
    # Each word of any other tag may be a filter expression
    # ({% if restitutions|length > 1 %}): rewritten in its place.
    return "{%" + _WORD.sub(lambda word: _word(word.group(), yes_no_maybe), inner) + "%}"


def _word(word: str, yes_no_maybe: str) -> str:
    keyword = _KEYWORD.fullmatch(word)
    if keyword and not keyword.group(2).startswith("="):
        return keyword.group(1) + _expression(keyword.group(2), yes_no_maybe)
    return _expression(word, yes_no_maybe)


def _firstof(words: list[str], yes_no_maybe: str) -> str:
    """``{% firstof a b "none" %}`` is ``a or b or "none"``; Django writes
    nothing when all are false, where Jinja2 would write the last one (a 0)."""
    target = None
    if len(words) >= 2 and words[-2] == "as":
        target, words = words[-1], words[:-2]
    if not words:
        raise _Unconvertible
    operands = [_expression(word, yes_no_maybe) for word in words]
    if not _is_string(words[-1]):
        operands.append('""')
    either = " or ".join(operands)
    return f"{{% set {target} = {either} %}}" if target else f"{{{{ {either} }}}}"


def _expression(text: str, yes_no_maybe: str) -> str:
    """One Django filter expression (``name|filter:"arg"|other``) as Jinja2's;
    ``text`` itself when it is not one or has no filter to rewrite."""
    base = _BASE.match(text)
    if base is None:
        return text
    filters: list[tuple[str, str | None]] = []
    at = base.end()
    while at < len(text):
        each = _FILTER.match(text, at)
        if each is None:
            return text  # not Django's syntax (already Jinja2's, or an operator)
        filters.append((each["name"], each["arg"]))
        at = each.end()
    if not filters:
        return text
    converted = _operand(base.group())
    for name, argument in filters:
        rewrite = _REWRITES.get(name, _generic)
        converted = rewrite(converted, name, argument, yes_no_maybe)
    return converted


def _generic(expression: str, name: str, argument: str | None, _words: str) -> str:
    if argument is None:
        return f"{expression}|{name}"
    return f"{expression}|{name}({_operand(argument)})"


def _default(expression: str, name: str, argument: str | None, _words: str) -> str:
    if argument is None:
        raise _Unconvertible  # Django refuses it too
    return f"{expression}|default({_operand(argument)}, true)"


def _dropped(expression: str, name: str, argument: str | None, _words: str) -> str:
    return expression


def _yesno(expression: str, name: str, argument: str | None, yes_no_maybe: str) -> str:
    if argument is not None and not _is_string(argument):
        raise _Unconvertible  # the words are only known as it renders
    words = (yes_no_maybe if argument is None else _django_string(argument)).split(",")
    if len(words) < 2:
        return expression  # Django gives the value back
    yes, no = json.dumps(words[0], ensure_ascii=False), json.dumps(words[1], ensure_ascii=False)
    maybe = json.dumps(words[2], ensure_ascii=False) if len(words) == 3 else no
    value = expression if _PLAIN_NAME.fullmatch(expression) else f"({expression})"
    if maybe == no:
        return f"({yes} if {value} else {no})"
    return f"({maybe} if {value} is none else {yes} if {value} else {no})"


_REWRITES: dict[str, Callable[[str, str, str | None, str], str]] = {
    "default": _default,
    "yesno": _yesno,
    "date": _dropped,
    "linebreaksbr": _dropped,
}


def _is_string(text: str) -> bool:
    return len(text) >= 2 and text[0] in "\"'" and text[-1] == text[0]


def _operand(text: str) -> str:
    """A Django operand as Jinja2 reads it: a string literal re-quoted (a
    backslash means something else to each), a name or number as it is."""
    return json.dumps(_django_string(text), ensure_ascii=False) if _is_string(text) else text


def _django_string(literal: str) -> str:
    # django.utils.text.unescape_string_literal: only \" (or \') and \\ are escapes.
    quote = literal[0]
    return literal[1:-1].replace(f"\\{quote}", quote).replace("\\\\", "\\")
