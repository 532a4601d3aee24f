"""Saved replies in the console: supervisors manage them; agents start a
step or a reply from one, filled for the ticket, and must make it their own
before it goes; each use is counted."""

import html

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import TicketFactory
from tickets.models import Kind, SavedReply
from tickets.selectors import fill
from tickets.services.saved_replies import saved_reply_create

pytestmark = pytest.mark.django_db

LIST = reverse("console:saved_replies")
ADD = reverse("console:saved_reply_add")


def apology(supervisor: User) -> SavedReply:
    return saved_reply_create(
        actor=supervisor,
        title="Sorry for the delay",
        step="apologize",
        body="{customer_first_name}, I am sorry: {reference} should not have happened.",
    )


def test_a_supervisor_writes_edits_and_retires_one(
    supervisor: User, supervisor_console: Client
) -> None:
    response = supervisor_console.post(
        ADD, {"title": "Late parcel", "step": "apologize", "queue": "", "body": "Sorry, {x}."}
    )
    assert response.status_code == 400
    assert "{x} is not a placeholder" in html.unescape(response.content.decode())

    supervisor_console.post(
        ADD, {"title": "Late parcel", "step": "apologize", "queue": "", "body": "Sorry."}
    )
    reply = SavedReply.objects.get()
    supervisor_console.post(
        reverse("console:saved_reply_edit", args=[reply.pk]),
        {"title": "Late parcel", "step": "apologize", "queue": "", "body": "Sorry again."},
    )
    reply.refresh_from_db()
    assert reply.body == "Sorry again."
    assert "Late parcel" in supervisor_console.get(LIST).content.decode()

    supervisor_console.post(reverse("console:saved_reply_retire", args=[reply.pk]))

    reply.refresh_from_db()
    assert not reply.active
    assert "No saved replies yet." in supervisor_console.get(LIST).content.decode()


def test_agents_cannot_write_them(agent_console: Client) -> None:
    response = agent_console.post(
        ADD, {"title": "Mine", "step": "reply", "queue": "", "body": "Hi."}
    )

    assert response.status_code == 403
    assert not SavedReply.objects.exists()


def test_the_step_form_offers_the_steps_replies_filled(
    agent: User, supervisor: User, agent_console: Client
) -> None:
    reply = apology(supervisor)
    ticket = TicketFactory(actor=agent, kind=Kind.MISHAP, customer_name="Ana Lima")

    page = agent_console.get(
        reverse("console:ticket_step", args=[ticket.pk, "apologize"])
    ).content.decode()

    assert 'id="saved-reply-apologize"' in page
    assert f'<option value="{reply.pk}">Sorry for the delay</option>' in page
    assert f"Ana, I am sorry: {ticket.reference} should not have happened." in page
    assert 'type="hidden" name="saved_reply"' in page


def test_a_step_sent_as_inserted_is_refused_and_an_edited_one_counted(
    agent: User, supervisor: User, agent_console: Client
) -> None:
    from tests.factories import advance

    reply = apology(supervisor)
    ticket = advance(TicketFactory(actor=agent, kind=Kind.MISHAP), "acknowledged")
    url = reverse("console:ticket_step", args=[ticket.pk, "apologize"])
    inserted = fill(reply, ticket=ticket, agent=agent)

    refused = agent_console.post(url, {"message": inserted, "saved_reply": reply.pk})
    assert refused.status_code == 400
    assert "Make the saved reply your own" in html.unescape(refused.content.decode())
    ticket.refresh_from_db()
    assert ticket.status == "acknowledged"

    done = agent_console.post(
        url, {"message": inserted + " A new one ships today.", "saved_reply": reply.pk}
    )
    assert done.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "apologized"
    reply.refresh_from_db()
    assert reply.use_count == 1


def test_a_reply_started_from_one_is_counted_and_a_note_is_not_checked(
    agent: User, supervisor: User, agent_console: Client
) -> None:
    reply = saved_reply_create(actor=supervisor, title="Hello", step="reply", body="Hello.")
    ticket = TicketFactory(actor=agent)
    url = reverse("console:ticket_reply", args=[ticket.pk])

    assert (
        f'<option value="{reply.pk}">Hello</option>'
        in agent_console.get(
            reverse("console:tickets_ticket_change", args=[ticket.pk])
        ).content.decode()
    )
    agent_console.post(url, {"body": "Hello. It ships today.", "saved_reply": reply.pk})

    reply.refresh_from_db()
    assert reply.use_count == 1
    assert ticket.messages.filter(body="Hello. It ships today.").exists()


def test_an_unknown_saved_reply_id_is_ignored_not_an_error(
    agent: User, agent_console: Client
) -> None:
    ticket = TicketFactory(actor=agent)

    response = agent_console.post(
        reverse("console:ticket_reply", args=[ticket.pk]), {"body": "Hi.", "saved_reply": 999}
    )

    assert response.status_code == 302
    assert ticket.messages.filter(body="Hi.").exists()


def test_a_retired_or_foreign_reply_is_not_counted(
    agent: User, supervisor: User, agent_console: Client
) -> None:
    from tickets.services.saved_replies import saved_reply_retire

    retired = saved_reply_create(actor=supervisor, title="Old", step="reply", body="Old.")
    saved_reply_retire(reply=retired, actor=supervisor)
    apology_only = apology(supervisor)
    ticket = TicketFactory(actor=agent)
    url = reverse("console:ticket_reply", args=[ticket.pk])

    agent_console.post(url, {"body": "Old. And new.", "saved_reply": retired.pk})
    agent_console.post(url, {"body": "Sorry, and more.", "saved_reply": apology_only.pk})

    retired.refresh_from_db()
    apology_only.refresh_from_db()
    assert (retired.use_count, apology_only.use_count) == (0, 0)
