"""Follow-up templates render in Jinja2's sandbox: the placeholders of
today read as before, what reaches past them is refused when saved (a
message on the form, never a 500) and reads nothing when sent."""

import html
import time
from collections.abc import Mapping
from decimal import Decimal
from importlib import import_module
from typing import Any, cast

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from jinja2.sandbox import SecurityError

from accounts.models import User
from core.errors import RuleViolation
from recovery.followup_defaults import DEFAULT_STEPS, QUESTION_STEPS
from recovery.followup_templates import PLACEHOLDERS, render_template, validate_template
from recovery.models import FollowUp, FollowUpPlanChange
from recovery.selectors.followup_links import links_for
from recovery.services import PlanStep, followup_plan_set, restitution_grant
from recovery.services.followup_emails import compose_followup_email, email_contexts
from tests.factories import TicketFactory, advance
from tests.helpers import assignee_of, console_client, plan_steps
from tickets.models import Kind, Severity, Status

to_jinja = import_module("recovery.migrations.0012_followup_templates_jinja").jinja_text

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

REACHING = [
    "{{ ticket.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ customer['__class__'] }}",
    "{{ customer.name.__class__.__init__.__globals__ }}",
    "{% for r in restitutions %}{{ r.__class__ }}{% endfor %}",
]


# --- Rendering ------------------------------------------------------------------------


def test_the_placeholders_of_today_render_as_before() -> None:
    source = (
        "Dear {{ customer.name }}, about {{ ticket.reference }}.\n\n"
        "{% if commitment.kept %}Kept.{% elif commitment %}Late.{% endif %}\n\n"
        "You got {% for r in restitutions %}a {{ r.get_kind_display|lower }} of {{ r.money }}"
        "{% if not loop.last %} and {% endif %}{% endfor %}."
    )

    assert render_template(source, CONTEXT) == (
        "Dear Lena Fischer, about HD-000042.\n\nYou got a refund of €5.00 and a gift of €3.00."
    )


def test_the_text_is_plain_not_escaped() -> None:
    """Plain text: the HTML email escapes it (see the email test below)."""
    context = {**CONTEXT, "customer": {"name": "Ann & <Bo>", "email": ""}}

    assert render_template("Hi {{ customer.name }}", context) == "Hi Ann & <Bo>"


@pytest.mark.parametrize("source", REACHING)
def test_a_stored_template_that_reaches_past_the_context_reads_nothing(source: str) -> None:
    """Only rows stored before templates were checked can hold these; the
    sandbox, not the check, is what stops them."""
    assert render_template(f"[{source}]", CONTEXT) == "[]"


def test_the_sandbox_keeps_the_context_unchanged() -> None:
    fixes: list[str] = []

    with pytest.raises(SecurityError):
        render_template("{{ process_fixes.append('x') }}", {**CONTEXT, "process_fixes": fixes})

    assert fixes == []


# --- Bounded: a template cannot exhaust the worker --------------------------------------


def test_a_power_is_refused_when_saved_quickly_and_with_a_message() -> None:
    """Folded at compile time, 9 ** 9 ** 9 hung the supervisor's save."""
    started = time.monotonic()

    with pytest.raises(RuleViolation) as refused:
        validate_template("Hi\n{{ 9 ** 9 ** 9 }}", field="body_template")

    assert time.monotonic() - started < 1
    assert refused.value.detail == (
        "A follow-up cannot raise a number to a power (** on line 2): write the number itself."
    )


def test_a_stored_power_is_refused_as_it_renders() -> None:
    """A row saved before the check refused it: it fails, saying why, and
    is not computed."""
    started = time.monotonic()

    with pytest.raises(SecurityError, match=r"cannot raise a number to a power \(\*\*\)"):
        render_template("{% set n = 9 %}{{ n ** n ** n }}", CONTEXT)

    assert time.monotonic() - started < 1


@pytest.mark.parametrize(
    "source",
    [
        "{{ customer.name * 999999999 }}",
        "{{ 999999999 * customer.name }}",
        "{{ [customer.name] * 999 }}",  # 12 characters each
        "{{ [[''], ['']] * 5001 }}",  # items count, empty or not
        "{% set n = 99999999999999999999 %}{% set n = n * n %}{% set n = n * n %}"
        "{% set n = n * n %}{{ n }}",
    ],
)
def test_a_product_too_big_to_build_is_refused_as_it_renders(source: str) -> None:
    started = time.monotonic()

    with pytest.raises(SecurityError, match=r"cannot (repeat text or a list past 10,000|multiply)"):
        render_template(source, CONTEXT)

    assert time.monotonic() - started < 1


def test_ordinary_products_still_work() -> None:
    assert validate_template("{{ 2 * 3 }}", field="body_template") == "{{ 2 * 3 }}"
    assert render_template("{{ 2 * 3 }} {{ 1.5 * 2 }} {{ '-' * 5 }}", CONTEXT) == "6 3.0 -----"
    assert render_template("{{ customer.name * 2 }}", CONTEXT) == "Lena FischerLena Fischer"
    assert render_template("{{ (['x'] * 3)|join }}", CONTEXT) == "xxx"


@pytest.mark.parametrize(
    ("source", "text"),
    [
        ("{{ restitutions|pluralize }}", "s"),
        ("{{ process_fixes|pluralize }}", "s"),
        ("[{{ 1|pluralize }}] {{ '1'|pluralize('y,ies') }} {{ 2|pluralize('y,ies') }}", "[] y ies"),
        ("[{{ ticket.subject|pluralize }}{{ nothing|pluralize }}{{ 2|pluralize('a,b,c') }}]", "[]"),
        ("{{ 'a refund of 5 US$'|capfirst }}", "A refund of 5 US$"),
    ],
)
def test_the_django_filters_templates_used_mean_what_they_meant(source: str, text: str) -> None:
    assert render_template(source, CONTEXT) == text


def test_migration_0012_rewrites_djangos_loop_names() -> None:
    seeded = import_module("recovery.migrations.0004_default_followup_plans")
    body = seeded.default_steps()[0][2]

    text = render_template(to_jinja(body), {**CONTEXT, "restitutions": [{"amount": 5}] * 2})

    assert "forloop" not in to_jinja(body)
    assert "gave you a  of 5  and a  of 5 ." in text  # one "and", between the two
    assert to_jinja("{% for x in y %}{{ forloop.counter }}{% empty %}none{% endfor %}") == (
        "{% for x in y %}{{ loop.index }}{% else %}none{% endfor %}"
    )


# --- Checked when saved ----------------------------------------------------------------


@pytest.mark.parametrize("source", REACHING)
def test_reaching_past_the_context_is_refused_with_a_message(source: str) -> None:
    with pytest.raises(RuleViolation, match="cannot read “__") as refused:
        validate_template(source, field="body_template")

    assert refused.value.extra["errors"] == {"body_template": [refused.value.detail]}


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("{{ ticket.assignee }}", "no {{ ticket.assignee }}. ticket has reference, subject."),
        ("{{ password }}", "no {{ password }}. It may use: customer.name"),
        ("{{ forloop.last }}", "no {{ forloop }}"),
        ("{% for r in restitutions %}{{ r.secret }}{% endfor %}", "no {{ r.secret }}"),
        ("{{ restitutions.money }}", "{% for item in restitutions %}"),
        ("{{ customer.name.upper() }}", "customer.name is a value"),
        ("{{ range(9) }}", "no {{ range }}"),
        ("{% include 'x.html' %}", "The include tag is not allowed"),
        ("{% macro m() %}{% endmacro %}", "The macro tag is not allowed"),
        ("{% if customer %}", "The template has an error on line 1: Unexpected end"),
        ("Hi\n{{ customer.name|nope }}", "The template has an error on line 2: No filter"),
    ],
)
def test_unknown_placeholders_tags_and_syntax_errors_are_refused(source: str, words: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        validate_template(source, field="subject_template")

    assert words in refused.value.detail


@pytest.mark.parametrize(
    "source",
    [
        "{% set who = customer.name %}{{ who }}",
        "{% for fix in process_fixes if fix.done_on %}{{ loop.index }}. {{ fix.failsafe_change }}"
        "{% else %}none{% endfor %}",
        "{{ restitutions|length }} {{ restitutions.0.money }} {{ customer['name'] }}",
        "{% raw %}{% load %}{% endraw %}{# {{ nothing }} #}",
    ],
)
def test_what_a_letter_needs_is_allowed(source: str) -> None:
    assert validate_template(source, field="body_template") == source


def test_the_default_plans_are_valid_in_every_language() -> None:
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for _day, subject, body in (*DEFAULT_STEPS, *QUESTION_STEPS):
                validate_template(str(subject), field="subject_template")
                validate_template(str(body), field="body_template")


@pytest.mark.django_db
def test_the_placeholders_are_what_the_context_holds() -> None:
    ticket = advance(TicketFactory(kind=Kind.MISHAP), to=Status.REBUILDING)
    restitution_grant(
        ticket=ticket,
        actor=assignee_of(ticket),
        kind="refund",
        amount=Decimal("5.00"),
        currency="USD",
        reason="Charged twice.",
    )
    followup = FollowUp.objects.filter(ticket=ticket).first()
    assert followup is not None

    context = email_contexts([followup])[followup.pk]

    assert set(context) == set(PLACEHOLDERS)
    for name in ("customer", "ticket"):
        assert set(context[name]) == set(cast(Mapping[str, Any], PLACEHOLDERS[name]))
    [each] = cast(list[Mapping[str, Any]], PLACEHOLDERS["restitutions"])
    assert [set(r) for r in context["restitutions"]] == [set(each)]


@pytest.mark.django_db
def test_the_html_email_escapes_what_the_text_says() -> None:
    ticket = advance(TicketFactory(kind=Kind.MISHAP), to=Status.REBUILDING)
    followup = FollowUp.objects.select_related("ticket__customer", "ticket__assignee").filter(
        ticket=ticket
    )[0]
    followup.body_template = "Hi {{ customer.name }}"
    context = email_contexts([followup])[followup.pk]
    context["customer"]["name"] = "<script>x</script>"

    letter = compose_followup_email(followup, context, links_for(followup))

    assert "Hi <script>x</script>" in letter.text
    assert "&lt;script&gt;x&lt;/script&gt;" in letter.html
    assert "<script>" not in letter.html


@pytest.mark.django_db
@pytest.mark.parametrize("source", ["{{ ticket.__class__ }}", "{{ ''.__class__.__mro__ }}"])
def test_the_service_refuses_reaching_and_changes_nothing(supervisor: User, source: str) -> None:
    before = plan_steps(Severity.MAJOR)

    with pytest.raises(RuleViolation, match="cannot read"):
        followup_plan_set(
            severity=Severity.MAJOR, actor=supervisor, steps=[PlanStep(2, "Hi", source)]
        )

    assert plan_steps(Severity.MAJOR) == before


# --- The console's form -----------------------------------------------------------------


def post_step(user: User, subject: str, body: str) -> Any:
    data = {
        "steps-TOTAL_FORMS": "1",
        "steps-INITIAL_FORMS": "0",
        "steps-MIN_NUM_FORMS": "0",
        "steps-MAX_NUM_FORMS": "1000",
        "steps-0-offset_days": "2",
        "steps-0-subject_template": subject,
        "steps-0-body_template": body,
    }
    url = reverse("console:followup_plan_edit", args=["minor"])
    return console_client(user).post(url, data)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("subject", "body", "message"),
    [
        ("Hi", "{{ ticket.__class__ }}", "A follow-up cannot read “__class__”"),
        ("Hi", "{{ ''.__class__.__mro__ }}", "A follow-up cannot read “__mro__”"),
        ("{{ ticket.owner }}", "Body", "A follow-up has no {{ ticket.owner }}"),
        ("Hi", "{% for r in restitutions %}", "The template has an error on line 1"),
        ("Hi", "{% load static %}", "The load tag is not allowed in a follow-up"),
        ("Hi", "{{ 9 ** 9 ** 9 }}", "cannot raise a number to a power (** on line 1)"),
        ("Hi", '{{ "x"|center(20000000) }}', "No filter named 'center'. A follow-up may use"),
        ("Hi", "{% set s = 'x' %}{{ s.center(999999999) }}", "cannot call functions or methods"),
    ],
)
def test_the_console_form_says_what_is_wrong_and_saves_nothing(
    supervisor: User, subject: str, body: str, message: str
) -> None:
    before = plan_steps("minor")

    response = post_step(supervisor, subject, body)

    page = response.content.decode()
    assert response.status_code == 400
    assert message in html.unescape(page)
    assert "Traceback" not in page
    assert plan_steps("minor") == before
    assert not FollowUpPlanChange.objects.exists()


@pytest.mark.django_db
def test_the_console_form_saves_a_valid_template(supervisor: User) -> None:
    body = (
        "{% for r in restitutions %}{{ r.described }}{% if not loop.last %}, {% endif %}"
        "{% endfor %}"
    )

    response = post_step(supervisor, "Two days on, {{ customer.name }}", body)

    assert response.status_code == 302
    assert plan_steps("minor") == [(2, "Two days on, {{ customer.name }}", body)]
