"""Saved replies (tickets.services.saved_replies) and their endpoint: written
by supervisors per step and queue, filled for a ticket, made one's own
before they go, counted when used."""

from datetime import UTC, datetime

import pytest

from accounts.models import User
from accounts.roles import Role
from core.errors import NotPermitted, RuleViolation
from tests.factories import QueueFactory, StaffFactory, TicketFactory, advance
from tests.helpers import client_for
from tickets.models import Kind, SavedReply
from tickets.selectors import fill
from tickets.services import ticket_commit
from tickets.services.saved_replies import (
    saved_reply_check_edited,
    saved_reply_create,
    saved_reply_retire,
    saved_reply_update,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/saved-replies/"
APOLOGY = "Hello {customer_first_name}, I am sorry about {reference}. {agent_name}"


def write(supervisor: User, **fields: object) -> SavedReply:
    values = {"title": "Sorry", "step": "apologize", "body": APOLOGY, **fields}
    return saved_reply_create(actor=supervisor, **values)  # type: ignore[arg-type]


def test_a_saved_reply_is_filled_for_the_ticket(supervisor: User) -> None:
    agent = StaffFactory(role=Role.AGENT, first_name="Alex", last_name="Moreau")
    ticket = TicketFactory(actor=agent, customer_name="Ana Lima Costa")
    reply = write(supervisor)

    assert fill(reply, ticket=ticket, agent=agent) == (
        f"Hello Ana, I am sorry about {ticket.reference}. Alex Moreau"
    )


def test_the_promise_due_time_is_in_the_customers_zone_and_language(supervisor: User) -> None:
    agent = StaffFactory(role=Role.AGENT)
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "apologized")
    ticket.customer.locale, ticket.customer.time_zone = "de", "Europe/Berlin"
    ticket.customer.save()
    ticket_commit(
        ticket=ticket,
        actor=agent,
        promise="Ein neues Paket.",
        due_at=datetime(2031, 6, 2, 15, 0, tzinfo=UTC),
    )
    reply = write(supervisor, step="commit", title="Promise", body="Bis {promise_due}.")

    text = fill(reply, ticket=ticket, agent=agent)

    assert text == "Bis Montag, 2. Juni 2031, 17:00, Deutschland (Berlin) (Ortszeit)."


def test_without_an_open_promise_the_placeholder_says_so(supervisor: User) -> None:
    ticket = TicketFactory(actor=supervisor)
    reply = write(supervisor, body="By {promise_due}.")

    assert fill(reply, ticket=ticket, agent=supervisor) == "By [no promise yet]."


def test_only_supervisors_write_them(agent: User) -> None:
    with pytest.raises(NotPermitted):
        write(agent)
    assert not SavedReply.objects.exists()


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"body": "Hi {first_name}"}, "{first_name} is not a placeholder"),
        ({"step": "close"}, "Choose a step"),
        ({"title": " "}, "Title is required"),
        ({"body": "  "}, "The text is required"),
    ],
)
def test_a_saved_reply_that_cannot_be_kept_says_why(
    supervisor: User, fields: dict[str, str], error: str
) -> None:
    with pytest.raises(RuleViolation, match=error):
        write(supervisor, **fields)
    assert not SavedReply.objects.exists()


def test_a_title_is_once_per_step_and_queue_until_retired(supervisor: User) -> None:
    queue = QueueFactory()
    first = write(supervisor)
    write(supervisor, queue=queue)  # another queue: fine

    with pytest.raises(RuleViolation, match="already a saved reply of that title"):
        write(supervisor)
    saved_reply_retire(reply=first, actor=supervisor)
    assert write(supervisor).active


def test_editing_keeps_the_count(supervisor: User) -> None:
    reply = write(supervisor)
    SavedReply.objects.filter(pk=reply.pk).update(use_count=3)

    edited = saved_reply_update(
        reply=reply,
        actor=supervisor,
        title="Sorry again",
        step="apologize",
        body="We are sorry.",
        queue=None,
    )

    assert (edited.title, edited.body, edited.use_count) == ("Sorry again", "We are sorry.", 3)


def test_a_reply_sent_as_inserted_is_refused_and_an_edited_one_passes(supervisor: User) -> None:
    ticket = TicketFactory(actor=supervisor, customer_name="Ana Lima")
    reply = write(supervisor)
    inserted = fill(reply, ticket=ticket, agent=supervisor)

    with pytest.raises(RuleViolation, match="Make the saved reply your own"):
        saved_reply_check_edited(reply=reply, ticket=ticket, agent=supervisor, text=inserted + "  ")
    saved_reply_check_edited(
        reply=reply, ticket=ticket, agent=supervisor, text=inserted + " The parcel is on its way."
    )


# --- The endpoint ----------------------------------------------------------------------


def test_the_endpoint_fills_the_step_for_the_ticket_of_its_queue_and_every_queue(
    supervisor: User,
) -> None:
    agent = StaffFactory(role=Role.AGENT, first_name="Alex")
    mine, other = QueueFactory(members=[agent]), QueueFactory()
    ticket = TicketFactory(actor=agent, queue=mine, customer_name="Ana Lima")
    everywhere = write(supervisor)
    ours = write(supervisor, title="Ours", queue=mine, body="Hi {customer_first_name}")
    write(supervisor, title="Theirs", queue=other)
    write(supervisor, title="Ack", step="acknowledge")

    response = client_for(agent).get(URL, {"step": "apologize", "ticket": str(ticket.pk)})

    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == [ours.pk, everywhere.pk]  # by title
    assert results[0]["text"] == "Hi Ana"
    assert results[0]["body"] == "Hi {customer_first_name}"
    assert set(results[0]) >= {"id", "title", "step", "queue", "body", "text", "use_count"}


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"step": "sing"}, 400, "sing"),
        ({"ticket": "HD-1"}, 400, "whole number"),
        ({"ticket": "999999"}, 404, "No ticket"),
    ],
)
def test_bad_parameters_are_refused_clearly(
    agent: User, params: dict[str, str], status: int, words: str
) -> None:
    response = client_for(agent).get(URL, params)

    assert response.status_code == status
    assert words in response.content.decode()


def test_a_ticket_the_caller_cannot_see_is_a_404(supervisor: User, agent: User) -> None:
    hidden = TicketFactory(actor=supervisor)

    assert client_for(agent).get(URL, {"ticket": hidden.pk}).status_code == 404


def test_retired_replies_are_not_offered(supervisor: User, agent: User) -> None:
    saved_reply_retire(reply=write(supervisor), actor=supervisor)

    assert client_for(agent).get(URL).json()["count"] == 0


@pytest.mark.parametrize("odd", ["²", "9" * 5000])
def test_odd_ticket_ids_are_a_400_not_a_500(agent: User, odd: str) -> None:
    assert client_for(agent).get(URL, {"ticket": odd}).status_code == 400


def test_only_staff_who_may_read_them_list_them(supervisor: User) -> None:
    from accounts.models import User as Account

    write(supervisor)
    gateway = Account.objects.create_user("gateway", password="x" * 20, is_staff=True)

    assert client_for(gateway).get(URL).status_code == 403


def test_the_promise_is_read_once_for_the_whole_list(supervisor: User) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    agent = StaffFactory(role=Role.AGENT)
    ticket = TicketFactory(actor=agent)
    client = client_for(agent)
    write(supervisor, body="By {promise_due}.")
    client.get(URL)  # the caller's permissions, read once and kept
    with CaptureQueriesContext(connection) as one:
        client.get(URL, {"ticket": ticket.pk})
    for n in range(4):
        write(supervisor, title=f"Also {n}", body="By {promise_due}.")
    with CaptureQueriesContext(connection) as five:
        client.get(URL, {"ticket": ticket.pk})

    assert len(five) == len(one)
