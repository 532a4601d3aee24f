"""A follow-up template cannot exhaust the web request that saves it nor
the worker that sends it: what it builds is bounded, refused quickly and
said why, on the form when it can be seen then, as it renders otherwise
(and the follow-up fails for good with the reason). Ordinary letters read
exactly as they did."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone, translation
from jinja2 import ChainableUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from core.errors import RuleViolation
from outbox.dispatch import outbox_dispatch
from recovery import followup_template_limits
from recovery.followup_defaults import DEFAULT_STEPS, QUESTION_STEPS
from recovery.followup_template_filters import LETTER_FILTERS, capfirst, pluralize
from recovery.followup_template_limits import LetterEnvironment
from recovery.followup_templates import render_template, validate_template
from recovery.models import FollowUp
from recovery.services.followup_delivery import SOURCE
from recovery.services.followups import followups_claim_due
from tests.delivery import item_for
from tests.helpers import rebuilding_mishap
from tests.smtp import SmtpSink

CONTEXT: dict[str, Any] = {
    "customer": {"name": "Lena Fischer", "email": "lena@example.com"},
    "ticket": {"reference": "HD-000042", "subject": "Parcel lost"},
    "commitment": None,
    "restitutions": [
        {"kind": "refund", "get_kind_display": "Refund", "money": "€5.00"},
        {"kind": "gift", "get_kind_display": "Gift", "money": "€3.00"},
    ],
    "restitutions_listed": "a refund of €5.00 and a gift worth €3.00",
    "process_fixes": [],
}

TEXT_REFUSED = "A follow-up cannot build text longer than 20,000 characters."


def repeated(part: str, times: int) -> str:
    return part * times


@contextmanager
def quickly() -> Iterator[None]:
    started = time.monotonic()
    yield
    assert time.monotonic() - started < 1


def refused_when_saved(source: str) -> str:
    with quickly(), pytest.raises(RuleViolation) as refused:
        validate_template(source, field="body_template")
    return str(refused.value.detail)


def refused_when_sent(source: str) -> str:
    with quickly(), pytest.raises(SecurityError) as refused:
        render_template(source, CONTEXT)
    return str(refused.value)


# --- Filters: an allowlist ------------------------------------------------------------------


def test_the_filters_are_those_a_letter_needs() -> None:
    assert set(LETTER_FILTERS) == {
        *("abs", "capfirst", "capitalize", "count", "d", "default", "e", "escape", "first"),
        *("float", "int", "join", "last", "length", "list", "lower", "max", "min"),
        *("pluralize", "replace", "reverse", "round", "sort", "string", "striptags", "sum"),
        *("title", "trim", "truncate", "unique", "upper", "wordcount"),
    }


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ('{{ "x"|center(20000000) }}', "center"),
        # Jinja2 itself leaves a filter in an {% if %} to fail as it renders.
        ('{% if customer %}\n{{ "x"|center(20000000) }}{% endif %}', "center"),
        ("{% filter center(20000000) %}x{% endfilter %}", "center"),
        ("{{ customer.name|indent(20000000, true) }}", "indent"),
        ('{{ customer.name|wordwrap(1, wrapstring="x" * 9999) }}', "wordwrap"),
        ('{{ "%20000000s"|format(1) }}', "format"),
        ("{{ restitutions|batch(20000000, 'x')|list }}", "batch"),
        ("{{ restitutions|slice(20000000, 'x')|list }}", "slice"),
        ("{{ 10 ** 30|filesizeformat }}", "filesizeformat"),
        ("{{ restitutions|map('center', 20000000)|list }}", "map"),
    ],
)
def test_a_filter_a_letter_does_not_need_is_refused_by_name_when_saved(
    source: str, name: str
) -> None:
    message = refused_when_saved(source)

    assert f"No filter named {name!r}. A follow-up may use abs, capfirst," in message


@pytest.mark.parametrize(
    "source",
    [
        '{{ "xxxxxxxxxx"' + repeated('|replace("x", "xx")', 12) + " }}",
        '{{ "' + "x" * 200 + '"|replace("", "' + "y" * 100 + '") }}',
        '{{ ["xxxxxxxxxx", "y"]|join("'
        + "-" * 30
        + '")'
        + repeated("|replace('-', '--')", 10)
        + " }}",
        '{{ ("&&&&&&&&&&&&&&&&&&&&"' + repeated('|replace("&", "&&")', 9) + ")|e }}",
    ],
)
def test_a_constant_too_big_to_build_is_refused_when_saved(source: str) -> None:
    """Compiling calls filters on constants; each refuses before building."""
    assert refused_when_saved(source) == f"Line 1: {TEXT_REFUSED}"


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ('{% set s = customer.name * 800 %}{{ s|replace("e", s) }}', TEXT_REFUSED),
        ("{% set s = customer.name * 800 %}{{ [s, s]|join(s) }}", TEXT_REFUSED),
        ("{% set s = customer.name * 800 %}{{ [s, s, s]|join }}", TEXT_REFUSED),
        ('{% set s = "&" * 9000 %}{{ s|e }}', TEXT_REFUSED),
        ("{% set s = customer.name * 800 %}{{ [s, s, s]|upper }}", TEXT_REFUSED),
        ("{% set s = customer.name * 800 %}{{ [s, s, s]|string }}", TEXT_REFUSED),
        ("{% set n = 2 %}{{ 1.5|round(999999999 * n, 'floor') }}", "at most 20 places"),
        ("{% set l = [[1]] %}{{ l|sum(start=[]) }}", "adds up numbers only"),
    ],
)
def test_a_filter_refuses_to_build_what_would_be_too_big_as_it_renders(
    source: str, words: str
) -> None:
    assert words in refused_when_sent(source)


def test_the_allowed_filters_still_do_their_work() -> None:
    source = (
        "{{ customer.name|upper }}|{{ customer.name|replace('e', 'E') }}|"
        "{{ restitutions|join(', ', attribute='kind') }}|{{ restitutions|length }}|"
        "{{ customer.name|truncate(5) }}|{{ [3, 1, 2]|sort|join }}|{{ [1.25, 2]|sum }}|"
        "{{ 2.567|round(1, 'floor') }}|{{ ' x '|trim|capfirst }}|{{ 'a & b'|e }}"
    )

    assert render_template(source, CONTEXT) == (
        "LENA FISCHER|LEna FischEr|refund, gift|2|Le...|123|3.25|2.5|X|a &amp; b"
    )


# --- No globals, no calls, no formatting ---------------------------------------------------


@pytest.mark.parametrize("name", ["range", "lipsum", "cycler", "joiner", "namespace", "dict"])
def test_jinjas_globals_are_not_there(name: str) -> None:
    assert f"A follow-up has no {{{{ {name} }}}}" in refused_when_saved(f"{{{{ {name}() }}}}")
    # A row stored before templates were checked: nothing to write, nothing to call.
    assert render_template(f"[{{{{ {name} }}}}]", CONTEXT) == "[]"
    assert "cannot call" in refused_when_sent(f"{{{{ {name}(9) }}}}")
    assert LetterEnvironment(filters={}).globals == {}


@pytest.mark.parametrize(
    "source",
    [
        "{% set n = customer.name %}{{ n.center(999999999) }}",
        "{{ 'x'.ljust(999999999) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{% for r in restitutions recursive %}{{ loop(restitutions) }}{% endfor %}",
    ],
)
def test_a_call_is_refused_when_saved_and_as_it_renders(source: str) -> None:
    assert "A follow-up cannot call functions or methods (line 1)" in refused_when_saved(source)
    assert "cannot call functions or methods" in refused_when_sent(source)


def test_the_loop_helpers_are_still_called() -> None:
    source = (
        "{% for r in restitutions %}{{ loop.cycle('a', 'b') }}{{ loop.changed(r) }}{% endfor %}"
    )

    assert validate_template(source, field="body_template") == source
    assert render_template(source, CONTEXT) == "aTruebTrue"


def test_text_formatted_with_percent_is_refused_and_numbers_still_divide() -> None:
    assert "cannot format text with % (line 1)" in refused_when_saved('{{ "%099999999d" % 1 }}')
    source = "{% set f = '%0999999999d' %}{{ f % 1 }}"
    assert "cannot format text with %" in refused_when_sent(source)
    assert render_template("{{ 7 % 3 }} {{ 1 + 2 }} {{ 'a' + 'b' }} {{ [1] + [2] }}", CONTEXT) == (
        "1 3 ab [1, 2]"
    )


# --- Building text: ~, +, blocks, loops, the letter -------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "{% set s = customer.name ~ customer.name %}"
        + repeated("{% set s = s ~ s %}", 40)
        + "{{ s|length }}",
        # Two names in turn: no name refers to itself.
        "{% set a = customer.name %}" + repeated("{% set b = a ~ a %}{% set a = b ~ b %}", 20),
        "{% set s = customer.name %}" + repeated("{% set s = s + s %}", 40),
        "{% set s = customer.name * 800 %}{{ [s, s, s] ~ '' }}",
        "{% set b %}{% for x in ['x'] * 5000 %}{{ customer.name }}{% endfor %}{% endset %}",
        "{% filter upper %}{% for x in ['x'] * 5000 %}{{ customer.name }}{% endfor %}"
        "{% endfilter %}",
    ],
)
def test_text_built_past_the_limit_is_refused_as_it_renders(source: str) -> None:
    assert validate_template(source, field="body_template") == source
    assert refused_when_sent(source) == TEXT_REFUSED


def test_lists_added_past_the_limit_are_refused() -> None:
    source = "{% set l = [customer.name] %}" + repeated("{% set l = l + l %}", 40)

    assert "cannot add lists past 10,000" in refused_when_sent(source)


def test_a_letter_longer_than_a_body_may_be_is_refused_as_it_is_written() -> None:
    source = "{% for x in ['x'] * 5000 %}{{ customer.name }}{% endfor %}"

    assert refused_when_sent(source) == (
        "A follow-up cannot be longer than 20,000 characters once written."
    )


def test_loops_go_round_a_bounded_number_of_times_in_all() -> None:
    source = "{% for a in ['x'] * 10000 %}{% for b in ['x'] * 10000 %}{% endfor %}{% endfor %}"

    assert refused_when_sent(source) == (
        "A follow-up cannot go round its loops more than 10,000 times."
    )


def test_what_a_render_builds_in_all_is_bounded() -> None:
    """Each value is bounded; a list of many of them is not, but for this."""
    many = ", ".join(f"s ~ {n}" for n in range(300))

    message = refused_when_sent(f"{{% set s = customer.name * 800 %}}{{{{ [{many}]|length }}}}")

    assert message == "A follow-up cannot build more than 2,000,000 characters in all."


def test_a_render_stops_at_its_deadline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The backstop for work no bound counts: comparing long texts in a loop."""
    monkeypatch.setattr(followup_template_limits, "RENDER_SECONDS", 0.05)
    compare = repeated("{% if s == t %}{% endif %}", 200)
    source = (
        "{% set s = customer.name * 800 %}{% set t = s ~ '' %}"
        f"{{% for x in ['x'] * 9000 %}}{compare}{{% endfor %}}"
    )

    assert refused_when_sent(source) == "A follow-up cannot take more than 0.05 seconds."


@pytest.mark.parametrize(
    "source",
    [
        "{{ customer.name" + repeated("|upper", 3000) + " }}",
        "{{ customer.name" + repeated("|upper", 60) + " }}",
        "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}",
        repeated("{% for r in restitutions %}", 21) + "x" + repeated("{% endfor %}", 21),
    ],
)
def test_a_template_nested_too_deeply_is_refused_when_saved(source: str) -> None:
    """Compiling recursed past Python's limit (a server error) or, for
    |upper two hundred deep, took seconds."""
    assert refused_when_saved(source).startswith("The template is nested too deeply")


@pytest.mark.django_db
def test_a_follow_up_refused_as_it_renders_fails_for_good_with_the_reason(
    smtp_sink: SmtpSink,
) -> None:
    [followup, *_] = rebuilding_mishap().followups.order_by("pk")
    bomb = "{% set s = customer.name %}" + repeated("{% set s = s ~ s %}", 40)
    FollowUp.objects.filter(pk=followup.pk).update(
        body_template=bomb, due_at=timezone.now() - timedelta(minutes=1)
    )
    followups_claim_due()

    with quickly():
        outbox_dispatch(item_ids=[item_for(SOURCE, followup.pk).pk])

    followup.refresh_from_db()
    assert followup.status == FollowUp.Status.FAILED
    assert followup.last_error == f"SecurityError: {TEXT_REFUSED}"
    assert smtp_sink.received == []


# --- Ordinary letters read as they did -----------------------------------------------------


def plain_jinja(source: str, context: dict[str, Any]) -> str:
    """What Jinja2's own sandbox writes, unbounded, with the same settings."""
    environment = ImmutableSandboxedEnvironment(autoescape=False, undefined=ChainableUndefined)
    environment.filters.update(capfirst=capfirst, pluralize=pluralize)
    return environment.from_string(source).render(context)


def bounded(source: str, context: dict[str, Any]) -> str:
    environment = LetterEnvironment(
        filters=LETTER_FILTERS, autoescape=False, undefined=ChainableUndefined
    )
    return environment.from_string(source).render(context)


KEPT = {"promise": "a refund by Friday", "kept": True, "fulfilled_on": "June 5, 2026"}
CONTEXTS = [
    CONTEXT,
    {**CONTEXT, "commitment": KEPT, "restitutions": [], "restitutions_listed": ""},
    {
        **CONTEXT,
        "commitment": {**KEPT, "kept": False},
        "process_fixes": [
            {"failsafe_change": "Two people check", "done_on": "June 8, 2026"},
            {"failsafe_change": "A photo of each parcel", "done_on": "June 9, 2026"},
        ],
    },
]

ORDINARY = [
    "{% for r in restitutions %}{{ loop.index }}. {{ r.get_kind_display|lower }} "
    "({{ r.money }}){% if not loop.last %}, {% endif %}{% else %}none{% endfor %}",
    "{% set who = customer.name|default('there', true) %}Dear {{ who|capfirst }},"
    "{% for fix in process_fixes if fix.done_on %}\n- {{ fix.failsafe_change }}{% endfor %}",
    '{{ ("on time" if commitment.kept else "late")|upper }} {{ restitutions|pluralize }} '
    "{{ restitutions|join(', ', attribute='kind') }} {{ ticket.reference ~ ': ' ~ 1 }}",
    "{% with n = restitutions|length %}{{ n }} gift{{ n|pluralize }}{% endwith %}"
    "{% filter upper %}{{ restitutions_listed }}{% endfilter %}{{ 2 * 3 + 1 }}",
]


def test_the_default_letters_read_as_jinja2_wrote_them_in_every_language() -> None:
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for _day, subject, body in (*DEFAULT_STEPS, *QUESTION_STEPS):
                for source in (str(subject), str(body)):
                    for context in CONTEXTS:
                        assert bounded(source, context) == plain_jinja(source, context)


@pytest.mark.parametrize("source", ORDINARY)
def test_ordinary_letters_read_as_jinja2_wrote_them(source: str) -> None:
    assert validate_template(source, field="body_template") == source
    for context in CONTEXTS:
        assert bounded(source, context) == plain_jinja(source, context)
