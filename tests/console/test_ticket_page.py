"""The ticket page's forms: each calls one service and shows its errors."""

from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from recovery.models import Restitution
from tests.factories import QueueFactory, StaffFactory, TicketFactory, advance
from tests.helpers import console_client, ticket_page, ticket_step
from tickets.models import Kind, Message, Status, Ticket

pytestmark = pytest.mark.django_db


def mishap(agent: User) -> Ticket:
    return TicketFactory(actor=agent, kind=Kind.MISHAP)


def test_resolving_a_new_mishap_is_refused_with_the_missing_steps(agent: User) -> None:
    ticket = mishap(agent)
    client = console_client(agent)

    shown = client.get(ticket_step(ticket, "resolve"))
    refused = client.post(ticket_step(ticket, "resolve"), {"message": "All done."})

    for response in (shown, refused):
        body = response.content.decode()
        assert "Resolve is not possible yet." in body
        assert [s["name"] for s in response.context["missing_steps"]] == [
            "acknowledge",
            "apologize",
            "commit",
        ]
    assert refused.status_code == 400
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_a_mishap_acknowledgement_needs_our_part(agent: User) -> None:
    ticket = mishap(agent)

    response = console_client(agent).post(ticket_step(ticket, "acknowledge"), {"message": "On it."})

    assert response.status_code == 400
    assert response.context["form"].errors["our_part"] == [
        "A mishap's acknowledgement states our part in it."
    ]
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_the_recovery_steps_through_their_forms(agent: User) -> None:
    ticket = mishap(agent)
    client = console_client(agent)
    due = (timezone.localtime() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")

    posts = [
        ("acknowledge", {"message": "We have it.", "our_part": "We sent the wrong size."}),
        ("apologize", {"message": "We are sorry."}),
        ("commit", {"promise": "A new one ships today.", "due_at": due}),
        ("resolve", {"message": "It shipped."}),
    ]
    for name, data in posts:
        response = client.post(ticket_step(ticket, name), data)
        assert response.status_code == 302, (
            name,
            response.context and response.context["form"].errors,
        )
        assert response["Location"] == ticket_page(ticket)

    ticket.refresh_from_db()
    assert ticket.status == Status.REBUILDING
    followups = client.get(ticket_page(ticket)).context["followups"]
    assert [f.offset_days for f in followups] == [1, 7, 30]


def test_a_due_time_in_the_past_is_refused_on_its_field(agent: User) -> None:
    ticket = advance(mishap(agent), to=Status.APOLOGIZED)
    past = (timezone.localtime() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")

    response = console_client(agent).post(
        ticket_step(ticket, "commit"), {"promise": "Soon.", "due_at": past}
    )

    assert response.context["form"].errors["due_at"] == ["The due time must be in the future."]


def test_the_due_time_is_read_in_the_agents_time_zone(agent: User) -> None:
    agent.time_zone = "Asia/Tokyo"
    agent.save(update_fields=["time_zone"])
    ticket = advance(mishap(agent), to=Status.APOLOGIZED)

    year = timezone.now().year + 1  # within the 5 years a promise may reach

    console_client(agent).post(
        ticket_step(ticket, "commit"),
        {"promise": "Tomorrow at nine.", "due_at": f"{year}-01-02T09:00"},
    )

    commitment = ticket.commitments.get()
    assert commitment.due_at.isoformat() == f"{year}-01-02T00:00:00+00:00"


def test_an_unknown_step_is_not_found(agent: User) -> None:
    ticket = mishap(agent)

    assert console_client(agent).get(ticket_step(ticket, "explode")).status_code == 404


def test_a_step_on_someone_elses_ticket_is_not_found(agent: User) -> None:
    other = StaffFactory(role=Role.AGENT)
    hidden = TicketFactory(actor=other, queue=QueueFactory(members=[other]))

    assert (
        console_client(agent).post(ticket_step(hidden, "acknowledge"), {"message": "x"}).status_code
        == 404
    )


def test_an_agent_cannot_act_where_the_queue_reserves_tickets_to_the_assignee(agent: User) -> None:
    owner = StaffFactory(role=Role.AGENT)
    queue = QueueFactory(members=[agent, owner], restrict_to_assignee=True)
    ticket = TicketFactory(actor=owner, queue=queue)

    response = console_client(agent).post(
        ticket_step(ticket, "acknowledge"), {"message": "Mine now."}
    )

    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == [
        "Only the ticket's assignee may act on tickets of its queue."
    ]
    assert "Only the ticket&#x27;s assignee may act" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_a_reply_with_a_file_and_an_internal_note(agent: User) -> None:
    ticket = TicketFactory(actor=agent)
    client = console_client(agent)
    label = SimpleUploadedFile("label.pdf", b"PDF", content_type="application/pdf")

    client.post(
        reverse("console:ticket_reply", args=[ticket.pk]),
        {"body": "Label attached.", "attachments": [label]},
    )
    client.post(
        reverse("console:ticket_reply", args=[ticket.pk]),
        {"body": "Customer sounded upset.", "note": "1"},
    )

    reply, note = Message.objects.filter(ticket=ticket, author=agent).order_by("id")
    assert (reply.public, note.public) == (True, False)
    attachment = reply.attachments.get()
    download = client.get(reverse("console:ticket_attachment", args=[ticket.pk, attachment.pk]))
    assert download["Content-Disposition"] == 'attachment; filename="label.pdf"'
    assert download["Content-Type"] == "application/octet-stream"
    assert b"".join(download.streaming_content) == b"PDF"  # type: ignore[attr-defined]
    assert "label.pdf" in client.get(ticket_page(ticket)).content.decode()


def test_an_empty_reply_shows_the_error_and_writes_nothing(agent: User) -> None:
    ticket = TicketFactory(actor=agent)

    response = console_client(agent).post(
        reverse("console:ticket_reply", args=[ticket.pk]), {"body": "  "}
    )

    assert response.status_code == 400
    assert response.context["reply_form"].errors
    assert ticket.messages.count() == 1


def test_a_file_of_a_hidden_ticket_cannot_be_downloaded(agent: User) -> None:
    from tickets.services import message_create

    other = StaffFactory(role=Role.AGENT)
    hidden = TicketFactory(actor=other, queue=QueueFactory(members=[other]))
    message = message_create(
        ticket=hidden,
        actor=other,
        body="Private.",
        public=False,
        attachments=[SimpleUploadedFile("secret.txt", b"secret")],
    )
    url = reverse("console:ticket_attachment", args=[hidden.pk, message.attachments.get().pk])

    assert console_client(agent).get(url).status_code == 404


def test_a_restitution_within_authority_is_granted_and_one_above_waits(agent: User) -> None:
    ticket = advance(mishap(agent), to=Status.COMMITTED)
    client = console_client(agent)
    url = reverse("console:ticket_restitution", args=[ticket.pk])
    shown = client.get(ticket_page(ticket))
    assert "200.00 USD" in shown.content.decode()  # the default weekly authority left

    small = client.post(
        url,
        {
            "kind": "gift",
            "amount": "20.00",
            "currency": "USD",
            "reason": "Flowers.",
            "customer_loss": "30",
        },
        follow=True,
    )
    large = client.post(
        url,
        {"kind": "refund", "amount": "120.00", "currency": "USD", "reason": "The whole order."},
        follow=True,
    )

    assert "Granted: 20.00 USD." in small.content.decode()
    assert "waits for a supervisor" in large.content.decode()
    assert list(ticket.restitutions.values_list("status", flat=True).order_by("id")) == [
        Restitution.Status.GRANTED,
        Restitution.Status.PENDING_APPROVAL,
    ]
    assert "Left for you this week: <strong>180.00</strong> of 200.00 USD" in large.content.decode()


def test_a_restitution_of_a_kind_not_allowed_shows_the_rule(agent: User) -> None:
    ticket = advance(mishap(agent), to=Status.COMMITTED)

    response = console_client(agent).post(
        reverse("console:ticket_restitution", args=[ticket.pk]),
        {"kind": "replacement", "amount": "10.00", "currency": "USD", "reason": "New one."},
    )

    assert response.status_code == 400
    assert response.context["restitution_form"].errors["kind"] == [
        "You may not grant a replacement."
    ]
    assert not ticket.restitutions.exists()


def test_a_new_ticket_from_the_console_is_the_agents(agent: User) -> None:
    response = console_client(agent).post(
        reverse("console:tickets_ticket_add"),
        {
            "subject": "Parcel lost",
            "body": "It never came.",
            "kind": "mishap",
            "severity": "major",
            "channel": "phone",
            "customer_email": "pat@example.com",
            "customer_name": "Pat",
        },
    )

    ticket = Ticket.objects.get(subject="Parcel lost")
    assert response["Location"] == ticket_page(ticket)
    assert (ticket.assignee, ticket.kind, ticket.customer.email) == (
        agent,
        "mishap",
        "pat@example.com",
    )


def test_a_new_ticket_with_a_bad_email_shows_the_error(agent: User) -> None:
    response = console_client(agent).post(
        reverse("console:tickets_ticket_add"),
        {
            "subject": "x",
            "body": "y",
            "kind": "question",
            "severity": "minor",
            "channel": "phone",
            "customer_email": "nope",
        },
    )

    assert response.status_code == 400
    assert "customer_email" in response.context["form"].errors
    assert not Ticket.objects.exists()


def test_an_agent_only_picks_their_own_queues_for_a_new_ticket(agent: User) -> None:
    mine = QueueFactory(members=[agent])
    QueueFactory()

    form = console_client(agent).get(reverse("console:tickets_ticket_add")).context["form"]

    assert list(form.fields["queue"].queryset) == [mine]


def test_supervisor_pages_are_not_in_an_agents_menu(agent_console: Client) -> None:
    labels = [
        item["label"]
        for item in agent_console.get(reverse("console:tickets_ticket_changelist")).context[
            "console_menu"
        ]
    ]

    assert labels == ["Queue", "New ticket", "Customers", "Process fixes", "Notifications"]
    assert "Follow-up plans" not in labels


def test_assigning_a_colleague_and_raising_the_severity(agent: User) -> None:
    colleague = StaffFactory(role=Role.AGENT)
    ticket = TicketFactory(actor=agent)

    response = console_client(agent).post(
        reverse("console:ticket_edit", args=[ticket.pk]),
        {"assignee": colleague.pk, "queue": "", "severity": "major"},
    )

    assert response.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.severity) == (colleague, "major")
    event = ticket.events.latest("id")
    assert event.payload == {"assignee": [agent.pk, colleague.pk], "severity": ["minor", "major"]}


def test_an_unchanged_edit_records_nothing(agent: User) -> None:
    ticket = TicketFactory(actor=agent)
    events = ticket.events.count()

    console_client(agent).post(
        reverse("console:ticket_edit", args=[ticket.pk]),
        {"assignee": agent.pk, "queue": "", "severity": "minor"},
    )

    assert ticket.events.count() == events


def test_an_acknowledged_question_becomes_a_mishap_only_with_our_part(agent: User) -> None:
    ticket = advance(TicketFactory(actor=agent), to=Status.ACKNOWLEDGED)
    url = reverse("console:ticket_make_mishap", args=[ticket.pk])
    client = console_client(agent)

    refused = client.post(url, {"our_part": "", "severity": ""})
    accepted = client.post(url, {"our_part": "We lost the parcel.", "severity": "major"})

    assert refused.context["mishap_form"].errors["our_part"] == [
        "State our part in the mishap: the customer's acknowledgement did not."
    ]
    assert accepted.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.kind, ticket.severity, ticket.our_part) == (
        "mishap",
        "major",
        "We lost the parcel.",
    )


def test_saving_the_severity_keeps_a_queue_the_agent_is_not_in(agent: User) -> None:
    elsewhere = QueueFactory()
    ticket = TicketFactory(actor=agent, queue=elsewhere)  # theirs by assignment only
    client = console_client(agent)
    form = client.get(ticket_page(ticket)).context["edit_form"]
    assert elsewhere in form.fields["queue"].queryset

    client.post(
        reverse("console:ticket_edit", args=[ticket.pk]),
        {"assignee": agent.pk, "queue": elsewhere.pk, "severity": "critical"},
    )

    ticket.refresh_from_db()
    assert (ticket.queue, ticket.severity) == (elsewhere, "critical")


def test_the_edit_form_offers_the_agents_queues_and_the_tickets_own_only(agent: User) -> None:
    mine = QueueFactory(members=[agent])
    elsewhere, unrelated = QueueFactory(), QueueFactory()
    ticket = TicketFactory(actor=agent, queue=elsewhere)

    form = console_client(agent).get(ticket_page(ticket)).context["edit_form"]

    offered = set(form.fields["queue"].queryset)
    assert mine in offered
    assert elsewhere in offered
    assert unrelated not in offered
    assert offered == set(agent.queues.all()) | {elsewhere}


def test_a_long_conversation_shows_the_latest_messages_and_a_link_to_the_rest(
    agent: User,
) -> None:
    from tickets.services import message_create

    ticket = TicketFactory(actor=agent)
    for n in range(55):
        message_create(ticket=ticket, actor=agent, body=f"Note {n}", public=False)
    client = console_client(agent)

    latest = client.get(ticket_page(ticket))
    everything = client.get(ticket_page(ticket), {"all": "1"})

    shown = [m.body for m in latest.context["conversation"]]
    assert len(shown) == 50
    assert shown[0] == "Note 5"  # oldest first, the 6 oldest behind the link
    assert shown[-1] == "Note 54"
    assert latest.context["earlier_messages"] is True
    assert "Show the earlier messages" in latest.content.decode()
    assert len(everything.context["conversation"]) == 56
    assert everything.context["earlier_messages"] is False


@pytest.mark.parametrize(
    "number", ["0", "-3", "abc", "99999999999999999999999", "9223372036854775808"]
)
def test_a_ticket_number_no_ticket_can_have_is_not_found(agent: User, number: str) -> None:
    response = console_client(agent).get(f"/console/tickets/ticket/{number}/change/")
    assert response.status_code == 404


def test_an_agent_does_not_see_a_ticket_of_another_queue_however_it_is_asked(
    agent: User,
) -> None:
    """The page's query is compiled once for every agent (``console.selectors``):
    each still sees only theirs, and a supervisor every one."""
    other = StaffFactory(role=Role.AGENT)
    theirs = TicketFactory(actor=other, queue=QueueFactory(members=[other]))
    mine = TicketFactory(actor=agent)
    client = console_client(agent)
    assert client.get(ticket_page(mine)).status_code == 200
    assert client.get(ticket_page(theirs)).status_code == 404
    assert console_client(other).get(ticket_page(theirs)).status_code == 200
    supervisor = StaffFactory(role=Role.SUPERVISOR)
    assert console_client(supervisor).get(ticket_page(theirs)).status_code == 200


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR])
def test_the_edit_forms_menus_offer_what_their_querysets_accept(role: Role) -> None:
    user = StaffFactory(role=role)
    mine, elsewhere = QueueFactory(members=[user]), QueueFactory()
    QueueFactory()  # another queue: a supervisor's menu has it, an agent's does not
    gone = StaffFactory(role=Role.AGENT)
    User.objects.filter(pk=gone.pk).update(is_active=False)  # who has left
    theirs_elsewhere = TicketFactory(actor=user, queue=elsewhere)
    left_behind = TicketFactory(actor=user, queue=mine)
    Ticket.objects.filter(pk=left_behind.pk).update(assignee=gone)
    tickets = [theirs_elsewhere, left_behind, theirs_elsewhere]  # compiled menus, run again
    if role == Role.SUPERVISOR:  # who alone sees a ticket of no queue and no assignee
        nowhere = TicketFactory(actor=user, queue=mine)
        Ticket.objects.filter(pk=nowhere.pk).update(assignee=None, queue=None)
        tickets.append(nowhere)
    client = console_client(user)

    for ticket in tickets:
        form = client.get(ticket_page(ticket)).context["edit_form"]
        for name in ("assignee", "queue"):
            field = form.fields[name]
            offered = [value for value, _ in field.choices if value != ""]
            assert offered == [row.pk for row in field.queryset], (ticket, name)
        # A ticket's own assignee, even one who left, and its own queue.
        assert (gone.pk in offered_ids(form, "assignee")) is (ticket == left_behind)
        assert (elsewhere.pk in offered_ids(form, "queue")) is (
            ticket == theirs_elsewhere or role == Role.SUPERVISOR
        )


def offered_ids(form: Any, name: str) -> list[int]:
    return [int(str(value)) for value, _ in form.fields[name].choices if value != ""]
