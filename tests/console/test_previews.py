"""The step forms' and the reply form's "Preview": the email the customer will
receive (From, To, Subject, the text, the HTML in a sandboxed frame), the
form kept as typed, nothing written and no email queued; and what is only
for the team (our part) says so."""

import html
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from console.previews import style_hashes
from tests.factories import CustomerFactory, QueueFactory, StaffFactory, TicketFactory, advance
from tests.helpers import console_client, ticket_page, ticket_step
from tickets.emails import build_ticket_email
from tickets.models import Kind, Message, Status, Ticket, TicketEvent

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
DUE = "2027-03-01T10:00"  # typed in Berlin: 09:00 UTC, 18:00 in Tokyo


@pytest.fixture(autouse=True)
def _now() -> Any:
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def ana() -> User:
    agent = StaffFactory(role=Role.AGENT, username="ana", first_name="Ana", last_name="Costa")
    agent.time_zone = "Europe/Berlin"
    agent.save(update_fields=["time_zone"])
    return agent


def reply(ticket: Ticket) -> str:
    return reverse("console:ticket_reply", args=[ticket.pk])


def mishap(agent: User, to: str = Status.NEW) -> Ticket:
    customer = CustomerFactory(name="Aiko Tanaka", time_zone="Asia/Tokyo", locale="en")
    ticket = TicketFactory(
        actor=agent,
        kind=Kind.MISHAP,
        subject="Wrong size",
        customer_email=customer.email,
        customer_name=customer.name,
    )
    return advance(ticket, to=to) if to != Status.NEW else ticket


def written(ticket: Ticket) -> tuple[str, int, int]:
    ticket.refresh_from_db()
    return (
        ticket.status,
        Message.objects.filter(ticket=ticket).count(),
        TicketEvent.objects.filter(ticket=ticket).count(),
    )


def shown_text(response: "_MonkeyPatchedWSGIResponse") -> str:
    """The plain text part as the preview shows it."""
    found = re.search(r'<pre class="email-text"[^>]*>(.*?)</pre>', response.content.decode(), re.S)
    assert found, "no preview of the plain text"
    return html.unescape(found.group(1))


def frame_html(response: "_MonkeyPatchedWSGIResponse") -> str:
    found = re.search(
        r'<iframe class="email-html" sandbox srcdoc="([^"]*)"', response.content.decode()
    )
    assert found, "no sandboxed frame with the HTML"
    return html.unescape(found.group(1))


def test_the_steps_with_a_message_have_a_preview_button(ana: User) -> None:
    client = console_client(ana)
    ticket = mishap(ana)

    assert (
        'name="preview" value="Preview"'
        in client.get(ticket_step(ticket, "acknowledge")).content.decode()
    )
    assert 'name="preview"' not in client.get(ticket_step(ticket, "reopen")).content.decode()
    assert 'name="preview" value="Preview"' in client.get(ticket_page(ticket)).content.decode()


def test_a_commitment_preview_shows_the_email_and_writes_nothing(
    ana: User, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = mishap(ana, to=Status.APOLOGIZED)
    before = written(ticket)
    typed = {
        "promise": "A new pair ships today.",
        "due_at": DUE,
        "value_restated": "You counted on them for the race.",
        "preview": "Preview",
    }

    with django_capture_on_commit_callbacks() as queued:
        response = console_client(ana).post(ticket_step(ticket, "commit"), typed)

    assert response.status_code == 200
    body = response.content.decode()
    preview = response.context["preview"]
    assert preview.subject == f"Re: Wrong size [{ticket.reference}]"
    assert html.escape(preview.subject) in body
    assert html.escape(preview.from_email) in body
    assert html.escape(f"Aiko Tanaka <{ticket.customer.email}>") in body
    text = shown_text(response)
    assert text.startswith("Hello Aiko Tanaka,\n\nYou counted on them for the race.\n\n")
    assert "A new pair ships today." in text
    # The due time typed in Berlin, as the customer in Tokyo reads it.
    assert "by Monday, March 1, 2027, 6:00\u202fPM, Japan Time." in text
    assert "\nAna Costa\n" in text
    assert frame_html(response) == preview.html
    # The form as typed, to send or change.
    form = response.context["form"]
    assert form.data["promise"] == "A new pair ships today."
    assert 'value="2027-03-01T10:00"' in body
    assert "A new pair ships today.</textarea>" in body
    # Nothing written, no email queued.
    assert written(ticket) == before
    assert queued == []


def test_the_preview_page_allows_the_emails_own_styles_only(ana: User) -> None:
    ticket = mishap(ana, to=Status.ACKNOWLEDGED)
    client = console_client(ana)

    shown = client.post(
        ticket_step(ticket, "apologize"), {"message": "Sorry.", "preview": "Preview"}
    )
    plain = client.get(ticket_step(ticket, "apologize"))

    policy = shown["Content-Security-Policy"]
    style_src = next(d for d in policy.split(";") if d.strip().startswith("style-src"))
    hashes = style_hashes(frame_html(shown))
    assert hashes  # the email's HTML has style attributes
    assert style_src.split() == ["style-src", "'self'", "'unsafe-hashes'", *hashes]
    assert "unsafe-inline" not in policy
    assert "unsafe-hashes" not in plain["Content-Security-Policy"]


def test_an_acknowledgement_preview_does_not_show_our_part(ana: User) -> None:
    ticket = mishap(ana)

    response = console_client(ana).post(
        ticket_step(ticket, "acknowledge"),
        {"message": "We have it.", "our_part": "The scanner misread it.", "preview": "Preview"},
    )

    assert response.status_code == 200
    assert "We have it." in shown_text(response)
    assert "scanner" not in shown_text(response)
    assert "scanner" not in frame_html(response)
    assert written(ticket)[0] == Status.NEW


def test_markup_typed_by_the_agent_is_shown_as_text(ana: User) -> None:
    ticket = mishap(ana, to=Status.ACKNOWLEDGED)
    typed = 'We are sorry <script>alert(1)</script> "truly" & <b>deeply</b>.'

    response = console_client(ana).post(
        ticket_step(ticket, "apologize"), {"message": typed, "preview": "Preview"}
    )

    body = response.content.decode()
    assert "<script>alert(1)" not in body
    assert "<b>deeply" not in body
    assert typed in shown_text(response)
    # The email's HTML says it as text too; the frame shows that HTML.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in frame_html(response)
    assert "<script>" not in frame_html(response)


@pytest.mark.parametrize(
    ("typed", "field", "error"),
    [
        ({"promise": "", "due_at": DUE}, "promise", "This field is required."),
        ({"promise": "Soon.", "due_at": "2026-12-01T09:00"}, "due_at", "in the future"),
    ],
)
def test_a_preview_of_a_wrong_form_shows_the_errors_and_no_preview(
    ana: User, typed: dict[str, str], field: str, error: str
) -> None:
    ticket = mishap(ana, to=Status.APOLOGIZED)
    before = written(ticket)

    response = console_client(ana).post(
        ticket_step(ticket, "commit"), {**typed, "preview": "Preview"}
    )

    assert response.status_code == 400
    assert error in " ".join(response.context["form"].errors[field])
    assert response.context["preview"] is None
    assert 'id="email-preview"' not in response.content.decode()
    assert written(ticket) == before


def test_a_preview_of_a_step_out_of_order_shows_the_missing_steps(ana: User) -> None:
    ticket = mishap(ana)

    response = console_client(ana).post(
        ticket_step(ticket, "resolve"), {"message": "All done.", "preview": "Preview"}
    )

    assert response.status_code == 400
    assert "Resolve is not possible yet." in response.content.decode()
    assert response.context["preview"] is None


def test_the_step_taken_after_a_preview_sends_what_was_previewed(
    ana: User, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = mishap(ana, to=Status.APOLOGIZED)
    client = console_client(ana)
    typed = {"promise": "A new pair ships today.", "due_at": DUE}
    preview = client.post(ticket_step(ticket, "commit"), {**typed, "preview": "Preview"})

    with django_capture_on_commit_callbacks(execute=True) as queued:
        taken = client.post(ticket_step(ticket, "commit"), typed)

    assert taken.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == Status.COMMITTED
    assert ticket.commitments.get().due_at == datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    assert len(queued) == 1  # the commitment's email
    message = Message.objects.filter(ticket=ticket).latest("created_at", "id")
    assert build_ticket_email(message).body == shown_text(preview)


def test_a_reply_preview_keeps_the_reply_and_writes_nothing(
    ana: User, django_capture_on_commit_callbacks: Any
) -> None:
    ticket = mishap(ana, to=Status.ACKNOWLEDGED)
    before = written(ticket)
    upload = SimpleUploadedFile("label.pdf", b"%PDF-1.4", content_type="application/pdf")

    with django_capture_on_commit_callbacks() as queued:
        response = console_client(ana).post(
            reply(ticket),
            {"body": "Hi Aiko, the new pair is on its way.", "attachments": upload, "preview": "1"},
        )

    assert response.status_code == 200
    body = response.content.decode()
    text = shown_text(response)
    assert text.startswith("Hi Aiko, the new pair is on its way.\n")
    assert "Hello" not in text  # their greeting only
    assert "label.pdf: a browser cannot keep chosen files" in body
    assert "Hi Aiko, the new pair is on its way.</textarea>" in body
    assert written(ticket) == before
    assert queued == []
    assert "'unsafe-hashes'" in response["Content-Security-Policy"]


def test_an_empty_reply_preview_shows_the_error(ana: User) -> None:
    ticket = mishap(ana, to=Status.ACKNOWLEDGED)

    response = console_client(ana).post(reply(ticket), {"body": "", "preview": "1"})

    assert response.status_code == 400
    assert response.context["reply_form"].errors["body"]
    assert 'id="email-preview"' not in response.content.decode()


def test_no_preview_for_whoever_may_not_work_the_ticket(ana: User) -> None:
    colleague = StaffFactory(role=Role.AGENT)
    queue = QueueFactory(members=[ana, colleague], restrict_to_assignee=True)
    ticket = TicketFactory(actor=ana, queue=queue)
    outsider = StaffFactory(role=Role.AGENT)
    typed = {"body": "Hi.", "preview": "1"}

    refused = console_client(colleague).post(reply(ticket), typed)
    hidden = console_client(outsider).post(reply(ticket), typed)
    step_refused = console_client(colleague).post(
        ticket_step(ticket, "acknowledge"), {"message": "Hi.", "preview": "Preview"}
    )

    assert refused.status_code == 400
    assert refused.context["reply_form"].non_field_errors() == [
        "Only the ticket's assignee may act on tickets of its queue."
    ]
    assert step_refused.status_code == 400
    assert step_refused.context["preview"] is None
    assert hidden.status_code == 404


# --- What stays with the team -------------------------------------------------------


def test_our_part_is_marked_internal_on_the_acknowledge_form(ana: User) -> None:
    body = console_client(ana).get(ticket_step(mishap(ana), "acknowledge")).content.decode()

    assert "Our part in it (internal)" in body
    assert "Internal: for your team, never sent to the customer." in body
    assert "Emailed to the customer, as the preview shows." in body


def test_our_part_is_marked_internal_on_the_ticket_page(ana: User) -> None:
    question = TicketFactory(actor=ana)
    acknowledged = mishap(ana, to=Status.ACKNOWLEDGED)
    client = console_client(ana)

    make_mishap = client.get(ticket_page(question)).content.decode()
    sidebar = client.get(ticket_page(acknowledged)).content.decode()

    assert "Our part in it (internal)" in make_mishap
    assert "Internal: for your team, never sent to the customer." in make_mishap
    assert 'title="Never sent to the customer">internal</span>' in sidebar


def test_a_process_fix_says_when_follow_ups_quote_it(supervisor: User) -> None:
    body = console_client(supervisor).get(reverse("console:process_fixes")).content.decode()

    assert "Follow-up emails quote it once the fix is done." in body


def test_the_api_schema_says_our_part_is_internal(agent: User) -> None:
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    components = schema["components"]["schemas"]

    for name in ("AcknowledgeRequest", "MakeMishapRequest", "TicketDetail"):
        described = components[name]["properties"]["our_part"]["description"]
        assert described.startswith("Internal:"), name
        assert "Never sent to the customer." in described
    assert components["AcknowledgeRequest"]["properties"]["message"]["description"] == (
        "Emailed to the customer."
    )
