import pytest

from accounts.models import User
from accounts.roles import Role
from core.errors import NotPermitted, RuleViolation
from recovery.models import ProcessFix
from recovery.services import process_fix_create, process_fix_set_status
from tests.factories import StaffFactory, TicketFactory
from tests.helpers import assignee_of, not_none
from tickets.models import Kind

pytestmark = pytest.mark.django_db


def make_fix(actor: User, **overrides: object) -> ProcessFix:
    fields = {
        "title": "Double-box fragile items",
        "root_cause": "Vases shipped in single boxes break.",
        "failsafe_change": "The packing station refuses a fragile item without a second box.",
        **overrides,
    }
    return process_fix_create(actor=actor, **fields)  # type: ignore[arg-type]


def test_a_fix_is_linked_to_its_tickets_and_their_histories(agent: User) -> None:
    ticket = TicketFactory(kind=Kind.MISHAP, actor=agent)

    fix = make_fix(agent, tickets=[ticket])

    assert fix.owner == agent
    assert fix.status == ProcessFix.Status.PROPOSED
    assert list(ticket.process_fixes.all()) == [fix]
    assert not_none(ticket.events.last()).action == "process_fix_linked"


@pytest.mark.parametrize("field", ["title", "root_cause", "failsafe_change"])
def test_a_fix_needs_each_of_its_parts(agent: User, field: str) -> None:
    with pytest.raises(RuleViolation) as refused:
        make_fix(agent, **{field: "  "})

    assert field in refused.value.extra["errors"]
    assert not ProcessFix.objects.exists()


def test_the_owner_moves_a_fix_forward_to_done(agent: User) -> None:
    fix = make_fix(agent)

    process_fix_set_status(fix=fix, actor=agent, status="in_progress")
    fix = process_fix_set_status(fix=fix, actor=agent, status="done")

    assert fix.status == ProcessFix.Status.DONE
    assert fix.done_at is not None


def test_a_fix_cannot_skip_to_done(agent: User) -> None:
    fix = make_fix(agent)

    with pytest.raises(RuleViolation, match="cannot become done"):
        process_fix_set_status(fix=fix, actor=agent, status="done")


def test_another_agent_cannot_change_the_fix_but_a_supervisor_can(agent: User) -> None:
    fix = make_fix(agent)

    with pytest.raises(NotPermitted):
        process_fix_set_status(fix=fix, actor=StaffFactory(role=Role.AGENT), status="dropped")
    supervisor = User.objects.get(pk=StaffFactory(role=Role.SUPERVISOR).pk)
    fix = process_fix_set_status(fix=fix, actor=supervisor, status="dropped")

    assert fix.status == ProcessFix.Status.DROPPED


def test_an_outsider_cannot_link_a_process_fix_to_a_ticket(agent: User) -> None:
    ticket = TicketFactory(kind=Kind.MISHAP)

    with pytest.raises(NotPermitted):
        process_fix_create(
            actor=agent,
            title="Fix",
            root_cause="Cause",
            failsafe_change="Change",
            tickets=[ticket],
        )

    assert not ProcessFix.objects.exists()
    assert not ticket.events.filter(action="process_fix_linked").exists()


def test_a_process_fix_status_change_is_in_its_tickets_history() -> None:
    ticket = TicketFactory(kind=Kind.MISHAP)
    fix = process_fix_create(
        actor=assignee_of(ticket),
        title="Fix",
        root_cause="Cause",
        failsafe_change="Change",
        tickets=[ticket],
    )

    process_fix_set_status(fix=fix, actor=assignee_of(ticket), status="in_progress")

    event = not_none(ticket.events.last())
    assert event.action == "process_fix_status"
    assert event.payload == {"process_fix": fix.pk, "status": ["proposed", "in_progress"]}


def test_an_empty_process_fix_field_is_refused() -> None:
    with pytest.raises(RuleViolation):
        process_fix_create(
            actor=StaffFactory(), title="Fix", root_cause="", failsafe_change="Change"
        )
