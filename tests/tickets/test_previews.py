"""The preview of a step's or a reply's email (tickets.previews): exactly what
the customer will receive, checked as the service checks the step, and
nothing written or queued."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from core.errors import NotPermitted, RuleViolation, StepsMissing
from tests.factories import CustomerFactory, StaffFactory, TicketFactory, advance
from tickets.emails import build_ticket_email
from tickets.models import Commitment, Kind, Message, Status, Ticket, TicketEvent
from tickets.previews import EmailPreview, reply_preview, step_preview
from tickets.services import message_create, ticket_acknowledge, ticket_commit

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _now() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ana() -> User:
    return StaffFactory(role=Role.AGENT, username="ana", first_name="Ana", last_name="Costa")


def mishap(agent: User, *, zone: str = "Asia/Tokyo", locale: str = "en", to: str = "new") -> Ticket:
    customer = CustomerFactory(name="Aiko Tanaka", time_zone=zone, locale=locale)
    ticket = TicketFactory(
        actor=agent,
        kind=Kind.MISHAP,
        subject="Wrong size",
        customer_email=customer.email,
        customer_name=customer.name,
    )
    return advance(ticket, to=to) if to != "new" else ticket


def written(ticket: Ticket) -> tuple[str, int, int, int]:
    ticket.refresh_from_db()
    return (
        ticket.status,
        Message.objects.filter(ticket=ticket).count(),
        TicketEvent.objects.filter(ticket=ticket).count(),
        Commitment.objects.filter(ticket=ticket).count(),
    )


def sent_for(ticket: Ticket) -> Any:
    """The email the latest message of ``ticket`` becomes."""
    message = Message.objects.filter(ticket=ticket).latest("created_at", "id")
    return build_ticket_email(message)


def test_a_commitment_preview_states_the_due_time_as_the_customer_will_read_it(
    ana: User,
) -> None:
    ticket = mishap(ana, to="apologized")
    due = datetime(2027, 3, 1, 10, 0, tzinfo=timezone.get_fixed_timezone(60))  # 09:00 UTC

    preview = step_preview(
        ticket=ticket,
        actor=ana,
        name="commit",
        content={"promise": "A new pair ships today.", "due_at": due, "value_restated": ""},
    )

    assert preview.subject == f"Re: Wrong size [{ticket.reference}]"
    assert preview.to == f"Aiko Tanaka <{ticket.customer.email}>"
    assert preview.from_email == '"Ana Costa (Helpdesk)" <help@localhost>'
    assert preview.language == "en"
    # One greeting, the agent's words, the due time in Tokyo, the signature.
    assert preview.text.startswith("Hello Aiko Tanaka,\n\nA new pair ships today.\n")
    assert preview.text.count("Hello") == 1
    due_words = "We will have this done by Monday, March 1, 2027, 6:00\u202fPM, Japan Time."
    assert due_words in preview.text
    assert "\nAna Costa\n" in preview.text
    assert due_words in preview.html
    assert "A new pair ships today." in preview.html
    assert 'lang="en"' in preview.html


def test_the_preview_is_the_email_the_step_then_sends(ana: User) -> None:
    ticket = mishap(ana, zone="America/Sao_Paulo", locale="pt-BR", to="apologized")
    content: dict[str, Any] = {
        "promise": "Enviamos o tamanho certo hoje.",
        "due_at": NOW + timedelta(days=2),
        "value_restated": "Você contava com o tênis para a corrida.",
    }

    preview = step_preview(ticket=ticket, actor=ana, name="commit", content=content)
    ticket_commit(ticket=ticket, actor=ana, **content)
    email = sent_for(ticket)

    assert preview == EmailPreview(
        from_email=email.from_email,
        to=email.to[0],
        subject=email.subject,
        text=email.body,
        html=email.alternatives[0][0],
        language=email.extra_headers["Content-Language"],
    )
    assert preview.language == "pt-BR"
    assert "sábado, 5 de dezembro de 2026" in preview.text  # Babel's CLDR, in Portuguese
    # The value restated comes before the promise, as the service writes it.
    assert preview.text.index("contava com o tênis") < preview.text.index("tamanho certo")


def test_a_reply_preview_is_the_email_the_reply_then_sends(ana: User) -> None:
    ticket = mishap(ana, to="acknowledged")

    preview = reply_preview(ticket=ticket, actor=ana, body="Hi Aiko, it is on its way.\n")
    message_create(ticket=ticket, actor=ana, body="Hi Aiko, it is on its way.\n", public=True)
    email = sent_for(ticket)

    assert preview.text == email.body
    assert preview.html == email.alternatives[0][0]
    assert preview.subject == email.subject
    assert preview.text.startswith("Hi Aiko, it is on its way.\n")  # their greeting, not ours too


def test_an_acknowledgement_preview_never_shows_our_part(ana: User) -> None:
    ticket = mishap(ana)

    preview = step_preview(
        ticket=ticket,
        actor=ana,
        name="acknowledge",
        content={"message": "We have your message.", "our_part": "Our scanner misread the label."},
    )

    assert "We have your message." in preview.text
    assert "scanner" not in preview.text
    assert "scanner" not in preview.html


@pytest.mark.parametrize(
    ("step", "to", "content"),
    [
        ("acknowledge", "new", {"message": "Got it.", "our_part": "We mixed up the boxes."}),
        ("apologize", "acknowledged", {"message": "We are sorry."}),
        ("commit", "apologized", {"promise": "Soon.", "due_at": NOW + timedelta(days=1)}),
        ("resolve", "committed", {"message": "Done."}),
    ],
)
def test_a_preview_writes_nothing_and_queues_no_email(
    ana: User,
    step: str,
    to: str,
    content: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    ticket = mishap(ana, to=to)
    before = written(ticket)

    with django_capture_on_commit_callbacks() as queued:
        preview = step_preview(ticket=ticket, actor=ana, name=step, content=content)

    assert preview.text
    assert written(ticket) == before
    assert ticket.status == to
    assert queued == []


def test_a_preview_refuses_what_the_step_would_refuse(ana: User) -> None:
    ticket = mishap(ana, to="apologized")

    def commit(**content: Any) -> EmailPreview:
        return step_preview(
            ticket=ticket, actor=ana, name="commit", content={"promise": "Soon.", **content}
        )

    with pytest.raises(RuleViolation, match="in the future") as past:
        commit(due_at=NOW - timedelta(minutes=1))
    assert past.value.extra["errors"] == {"due_at": [past.value.detail]}
    with pytest.raises(RuleViolation, match="at most 5 years ahead"):
        commit(due_at=NOW + timedelta(days=6 * 366))
    with pytest.raises(RuleViolation, match="cannot be empty"):
        commit(due_at=NOW + timedelta(days=1), promise="   ")


def test_a_mishaps_acknowledgement_preview_needs_our_part(ana: User) -> None:
    with pytest.raises(RuleViolation, match="our part") as refused:
        step_preview(
            ticket=mishap(ana), actor=ana, name="acknowledge", content={"message": "Got it."}
        )

    assert list(refused.value.extra["errors"]) == ["our_part"]


def test_a_preview_of_a_step_out_of_order_names_the_missing_steps(ana: User) -> None:
    with pytest.raises(StepsMissing) as refused:
        step_preview(
            ticket=mishap(ana), actor=ana, name="resolve", content={"message": "All done."}
        )

    assert refused.value.missing_steps == ["acknowledge", "apologize", "commit"]


def test_whoever_may_not_act_on_the_ticket_gets_no_preview(ana: User) -> None:
    outsider = StaffFactory(role=Role.AGENT)
    ticket = mishap(ana, to="acknowledged")  # Ana's, in no queue of the outsider's

    with pytest.raises(NotPermitted):
        reply_preview(ticket=ticket, actor=outsider, body="Hello.")
    with pytest.raises(NotPermitted):
        step_preview(ticket=ticket, actor=outsider, name="apologize", content={"message": "Hi"})


def test_steps_without_a_message_have_no_preview(ana: User) -> None:
    ticket = advance(TicketFactory(actor=ana), to=Status.RESOLVED)

    with pytest.raises(RuleViolation, match="no message"):
        step_preview(ticket=ticket, actor=ana, name="close", content={"reason": ""})


def test_the_real_acknowledgement_after_a_preview_is_sent_as_previewed(ana: User) -> None:
    ticket = mishap(ana)
    content = {"message": "We have it.", "our_part": "We mixed up the boxes."}

    preview = step_preview(ticket=ticket, actor=ana, name="acknowledge", content=content)
    ticket_acknowledge(ticket=ticket, actor=ana, **content)

    assert sent_for(ticket).body == preview.text
