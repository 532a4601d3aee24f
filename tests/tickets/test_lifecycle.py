"""The state machine through its services: every transition allowed, refused
for each missing step, refused from a wrong state; nothing changes on refusal."""

from collections.abc import Callable
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from django_fsm import ConcurrentTransition

from accounts.models import User
from core.errors import NotPermitted, RuleViolation, StepsMissing
from tests.factories import TicketFactory, advance
from tests.helpers import assignee_of, not_none
from tickets import hooks
from tickets.models import Kind, Message, Status, Ticket
from tickets.models.ticket import UnrecordedTransition
from tickets.services import (
    ticket_acknowledge,
    ticket_apologize,
    ticket_close,
    ticket_commit,
    ticket_convert_to_mishap,
    ticket_reopen,
    ticket_resolve,
    ticket_restore,
)

pytestmark = pytest.mark.django_db

SOON = timedelta(days=2)


def mishap(to: str = "new") -> Ticket:
    return advance(TicketFactory(kind=Kind.MISHAP), to=to)


def question(to: str = "new") -> Ticket:
    return advance(TicketFactory(kind=Kind.QUESTION), to=to)


def attempt(ticket: Ticket, name: str) -> Ticket:
    """Try a transition with valid content for it."""
    actor = assignee_of(ticket)
    calls = {
        "acknowledge": lambda: ticket_acknowledge(
            ticket=ticket, actor=actor, message="Got it.", our_part="Our courier erred."
        ),
        "apologize": lambda: ticket_apologize(ticket=ticket, actor=actor, message="Sorry."),
        "commit": lambda: ticket_commit(
            ticket=ticket, actor=actor, promise="Refund today.", due_at=timezone.now() + SOON
        ),
        "resolve": lambda: ticket_resolve(ticket=ticket, actor=actor, message="Refunded."),
        "close": lambda: ticket_close(ticket=ticket, actor=actor),
        "restore": lambda: ticket_restore(ticket=ticket, actor=actor, reason="Plan done."),
        "reopen": lambda: ticket_reopen(ticket=ticket, actor=actor, reason="It broke again."),
    }
    return calls[name]()


@pytest.mark.parametrize(
    ("make", "start", "name", "end"),
    [
        (question, "new", "acknowledge", "acknowledged"),
        (question, "acknowledged", "resolve", "resolved"),
        (question, "resolved", "close", "closed"),
        (question, "resolved", "reopen", "acknowledged"),
        (question, "closed", "reopen", "acknowledged"),
        (mishap, "new", "acknowledge", "acknowledged"),
        (mishap, "acknowledged", "apologize", "apologized"),
        (mishap, "apologized", "commit", "committed"),
        (mishap, "committed", "resolve", "rebuilding"),
        (mishap, "rebuilding", "restore", "restored"),
        (mishap, "rebuilding", "reopen", "acknowledged"),
    ],
)
def test_allowed_transition_moves_and_records_itself(
    make: Callable[[str], Ticket], start: str, name: str, end: str
) -> None:
    ticket = make(start)
    events_before = ticket.events.count()

    ticket = attempt(ticket, name)

    ticket.refresh_from_db()
    assert ticket.status == end
    [event] = [e for e in ticket.events.all()[events_before:] if e.action == name]
    assert (event.action, event.from_status, event.to_status) == (name, start, end)
    assert event.actor == ticket.assignee


@pytest.mark.parametrize(
    ("make", "start", "name", "missing"),
    [
        (mishap, "new", "resolve", ["acknowledge", "apologize", "commit"]),
        (mishap, "acknowledged", "resolve", ["apologize", "commit"]),
        (mishap, "apologized", "resolve", ["commit"]),
        (mishap, "new", "commit", ["acknowledge", "apologize"]),
        (mishap, "acknowledged", "commit", ["apologize"]),
        (mishap, "new", "apologize", ["acknowledge"]),
        (mishap, "committed", "restore", ["resolve"]),
        (question, "new", "resolve", ["acknowledge"]),
        (question, "new", "close", ["acknowledge", "resolve"]),
    ],
)
def test_out_of_order_transition_names_the_missing_steps(
    make: Callable[[str], Ticket], start: str, name: str, missing: list[str]
) -> None:
    ticket = make(start)
    events_before = ticket.events.count()

    with pytest.raises(StepsMissing) as refused:
        attempt(ticket, name)

    assert refused.value.missing_steps == missing
    assert refused.value.extra["current_status"] == start
    assert ", then ".join(missing) in refused.value.detail
    ticket.refresh_from_db()
    assert ticket.status == start
    assert ticket.events.count() == events_before


@pytest.mark.parametrize(
    ("make", "start", "name"),
    [
        (mishap, "restored", "acknowledge"),
        (question, "closed", "resolve"),
        (question, "new", "reopen"),
        (mishap, "committed", "reopen"),
        (mishap, "rebuilding", "close"),
    ],
)
def test_transition_from_a_wrong_state_is_refused(
    make: Callable[[str], Ticket], start: str, name: str
) -> None:
    ticket = make(start)

    with pytest.raises(StepsMissing) as refused:
        attempt(ticket, name)

    assert refused.value.missing_steps == []
    assert ticket.get_status_display().lower() in refused.value.detail
    ticket.refresh_from_db()
    assert ticket.status == start


@pytest.mark.parametrize("name", ["apologize", "commit"])
def test_apology_and_commitment_are_refused_for_a_question(name: str) -> None:
    ticket = question("acknowledged")

    with pytest.raises(RuleViolation, match="apologies and commitments are for mishaps"):
        attempt(ticket, name)


def test_a_mishap_acknowledgement_must_state_our_part() -> None:
    ticket = mishap()

    with pytest.raises(RuleViolation) as refused:
        ticket_acknowledge(
            ticket=ticket, actor=assignee_of(ticket), message="Got it.", our_part=" "
        )

    assert refused.value.extra["errors"] == {
        "our_part": ["A mishap's acknowledgement states our part in it."]
    }
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_commitment_due_in_the_past_is_refused() -> None:
    ticket = mishap("apologized")

    with pytest.raises(RuleViolation, match="must be in the future"):
        ticket_commit(
            ticket=ticket,
            actor=assignee_of(ticket),
            promise="Refund.",
            due_at=timezone.now() - timedelta(minutes=1),
        )

    assert not ticket.commitments.exists()


def test_each_step_sends_its_message_to_the_customer() -> None:
    ticket = mishap("committed")

    steps = list(
        ticket.messages.filter(author_kind=Message.Author.AGENT).values_list("step", "public")
    )

    assert steps == [("acknowledge", True), ("apologize", True), ("commit", True)]
    assert set(ticket.messages.exclude(step="").values_list("delivery_status", flat=True)) == {
        Message.Delivery.PENDING
    }


def test_resolving_a_mishap_fulfils_its_commitment_on_time() -> None:
    ticket = mishap("rebuilding")

    commitment = ticket.commitments.get()
    assert commitment.fulfilled_at is not None
    assert commitment.kept is True
    assert ticket.events.get(action="resolve").payload["kept"] is True


def test_a_promise_kept_after_its_due_time_is_recorded_late() -> None:
    ticket = mishap("committed")

    with time_machine.travel(timezone.now() + SOON + timedelta(hours=1)):
        ticket_resolve(ticket=ticket, actor=assignee_of(ticket), message="Finally done.")

    assert ticket.commitments.get().kept is False


def test_a_reopened_mishap_must_apologize_and_commit_again() -> None:
    ticket = attempt(mishap("rebuilding"), "reopen")

    with pytest.raises(StepsMissing) as refused:
        attempt(ticket, "resolve")

    assert refused.value.missing_steps == ["apologize", "commit"]
    assert ticket.rebuilding_ended_at is not None
    assert ticket.apologized_at is None


def test_reopen_needs_a_reason() -> None:
    ticket = question("resolved")

    with pytest.raises(RuleViolation, match="reason"):
        ticket_reopen(ticket=ticket, actor=ticket.assignee, reason="  ")


def test_status_cannot_be_written_directly() -> None:
    ticket = question()

    with pytest.raises(AttributeError, match="Direct status modification is not allowed"):
        ticket.status = Status.CLOSED

    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_a_transition_called_outside_the_services_cannot_be_saved() -> None:
    ticket = mishap()

    ticket.acknowledge()
    with pytest.raises(UnrecordedTransition, match="must go through the lifecycle services"):
        ticket.save()

    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_a_ticket_cannot_be_created_past_new() -> None:
    customer = TicketFactory().customer

    with pytest.raises(UnrecordedTransition):
        Ticket.objects.create(subject="x", customer=customer, status=Status.CLOSED)


def test_a_stale_copy_cannot_overwrite_a_newer_status() -> None:
    ticket = question()
    stale = Ticket.objects.get(pk=ticket.pk)
    attempt(ticket, "acknowledge")

    stale.acknowledge()
    with pytest.raises(ConcurrentTransition), stale.recording_transition():
        stale.save()


def test_a_committed_mishap_without_its_commitment_cannot_be_resolved() -> None:
    ticket = mishap("committed")
    # As if a shell had forced the state: the model still asks for the promise.
    ticket.commitments.update(fulfilled_at=timezone.now())

    with pytest.raises(StepsMissing) as refused:
        attempt(Ticket.objects.get(pk=ticket.pk), "resolve")

    assert refused.value.missing_steps == ["commit"]


def test_acknowledging_checks_the_kind_of_the_locked_row() -> None:
    ticket = question()
    stale = Ticket.objects.get(pk=ticket.pk)
    ticket_convert_to_mishap(ticket=ticket, actor=assignee_of(ticket))

    with pytest.raises(RuleViolation, match="states our part"):
        ticket_acknowledge(ticket=stale, actor=stale.assignee, message="Hi.")

    assert Ticket.objects.get(pk=ticket.pk).status == Status.NEW


def test_an_agent_outside_the_ticket_cannot_act(agent: User) -> None:
    ticket = question()

    with pytest.raises(NotPermitted):
        ticket_acknowledge(ticket=ticket, actor=agent, message="Mine now.")

    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_a_supervisor_can_act_on_any_ticket(supervisor: User) -> None:
    ticket = question()

    ticket_acknowledge(ticket=ticket, actor=supervisor, message="On it.")

    assert not_none(ticket.events.last()).actor == supervisor


def test_a_resolve_guard_holds_a_mishap_back(monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = mishap("committed")
    monkeypatch.setattr(hooks, "_resolve_guards", [lambda t: ["settle_pending_approvals"]])

    with pytest.raises(StepsMissing) as refused:
        attempt(ticket, "resolve")

    assert refused.value.missing_steps == ["settle_pending_approvals"]


def test_lifecycle_hooks_run_inside_the_transition(monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = mishap("committed")
    seen = []
    monkeypatch.setattr(
        hooks, "_lifecycle_hooks", {"resolved": [lambda t, actor: seen.append((t.status, actor))]}
    )

    attempt(ticket, "resolve")

    assert seen == [(Status.REBUILDING, ticket.assignee)]


def test_a_failing_hook_rolls_the_transition_back(monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = mishap("committed")

    def broken(t: Ticket, actor: User | None) -> None:
        raise RuntimeError("scheduler down")

    monkeypatch.setattr(hooks, "_lifecycle_hooks", {"resolved": [broken]})

    with pytest.raises(RuntimeError):
        attempt(ticket, "resolve")

    ticket.refresh_from_db()
    assert ticket.status == Status.COMMITTED
    assert ticket.commitments.get().fulfilled_at is None
    assert not ticket.events.filter(action="resolve").exists()


def test_permission_is_checked_before_the_content(agent: User) -> None:
    ticket = mishap()

    with pytest.raises(NotPermitted):
        ticket_acknowledge(ticket=ticket, actor=agent, message="", our_part="")


def test_order_is_checked_before_the_content() -> None:
    ticket = mishap()

    with pytest.raises(StepsMissing):
        ticket_commit(
            ticket=ticket,
            actor=assignee_of(ticket),
            promise="",
            due_at=timezone.now() - timedelta(days=1),
        )
