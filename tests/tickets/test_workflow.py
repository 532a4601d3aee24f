import pytest

from tests.factories import TicketFactory, advance
from tickets import workflow
from tickets.models import Kind

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "status", "available", "to_resolve"),
    [
        (Kind.QUESTION, "new", ["acknowledge"], ["acknowledge"]),
        (Kind.QUESTION, "acknowledged", ["resolve"], []),
        (Kind.QUESTION, "resolved", ["close", "reopen"], []),
        (Kind.QUESTION, "closed", ["reopen"], []),
        (Kind.MISHAP, "new", ["acknowledge"], ["acknowledge", "apologize", "commit"]),
        (Kind.MISHAP, "acknowledged", ["apologize"], ["apologize", "commit"]),
        (Kind.MISHAP, "apologized", ["commit"], ["commit"]),
        (Kind.MISHAP, "committed", ["resolve"], []),
        (Kind.MISHAP, "rebuilding", ["restore", "reopen"], []),
        (Kind.MISHAP, "restored", [], []),
    ],
)
def test_available_transitions_and_missing_steps_follow_the_rules(
    kind: str, status: str, available: list[str], to_resolve: list[str]
) -> None:
    ticket = advance(TicketFactory(kind=kind), to=status)

    assert workflow.available_transitions(ticket) == available
    assert workflow.steps_to_resolve(ticket) == to_resolve


def test_a_question_never_offers_an_apology() -> None:
    ticket = advance(TicketFactory(kind=Kind.QUESTION), to="acknowledged")

    verdict = workflow.assess(ticket, "apologize")

    assert (verdict.allowed, verdict.applicable) == (False, False)
