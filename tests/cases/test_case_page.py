"""The customer's case page, opened by the signed link in their emails: in
their language and zone, only what they may see, and a way to answer."""

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
import time_machine
from django.core import mail
from django.http import FileResponse
from django.test import Client
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle

from accounts.models import User
from cases.models import CaseVisit
from recovery.models import Feedback, FollowUpOptOut, RestitutionKind
from recovery.services.restitutions import restitution_grant
from tests.delivery import deliver_outbox
from tests.factories import TicketFactory, advance, give_authority
from tests.helpers import assignee_of, html_of, not_none, sent_emails
from tickets.case_links import case_token, case_url
from tickets.models import Kind, Message, NotificationKind, Status, Ticket
from tickets.services import message_create, ticket_commit, ticket_resolve

pytestmark = pytest.mark.django_db


def page_path(ticket: Ticket) -> str:
    return urlsplit(case_url(ticket)).path


def text(response: Any) -> str:
    return str(response.content.decode())


def mishap(**kwargs: Any) -> Ticket:
    return TicketFactory(kind=Kind.MISHAP, **kwargs)


def test_the_page_shows_the_promise_and_its_due_time_in_the_customers_zone() -> None:
    ticket = advance(mishap(), to="apologized")
    ticket.customer.time_zone = "Asia/Tokyo"
    ticket.customer.save()
    due = timezone.now().replace(microsecond=0) + timedelta(days=3)
    ticket = ticket_commit(
        ticket=ticket, actor=assignee_of(ticket), promise="A new blender ships today.", due_at=due
    )
    response = Client().get(page_path(ticket))
    assert response.status_code == 200
    page = text(response)
    assert "A new blender ships today." in page
    tokyo = timezone.localtime(due, ticket.customer.zone)
    assert f"{tokyo:%B} {tokyo.day}, {tokyo.year}" in page
    assert "Japan Time" in page or "Tokyo" in page
    assert "We have promised to put it right by" in page


def test_internal_notes_and_our_own_account_never_appear() -> None:
    ticket = advance(mishap(), to="acknowledged")
    message_create(
        ticket=ticket,
        actor=assignee_of(ticket),
        body="Zanzibarquux: do not refund twice.",
        public=False,
    )
    page = text(Client().get(page_path(ticket)))
    assert "Zanzibarquux" not in page
    assert "We sent the wrong item." not in page  # our_part is the staff's
    assert "We have your message and are on it." in page  # what we acknowledged, as sent


def test_the_page_is_in_the_customers_language() -> None:
    ticket = TicketFactory()
    ticket.customer.locale = "pt-BR"
    ticket.customer.save()
    response = Client().get(page_path(ticket))
    assert '<html lang="pt-BR">' in text(response)
    assert "Recebemos sua mensagem" in text(response)


def test_status_in_plain_words_after_resolution_names_the_next_check_in() -> None:
    ticket = advance(mishap(), to="rebuilding")
    page = text(Client().get(page_path(ticket)))
    assert "Put right; we will check in on" in page
    assert "We will write to you on" in page


def test_grants_and_the_promise_kept_are_told(supervisor: User) -> None:
    ticket = advance(mishap(), to="committed")
    give_authority(assignee_of(ticket), kinds=["gift"], by=supervisor)
    restitution_grant(
        ticket=ticket,
        actor=assignee_of(ticket),
        kind=RestitutionKind.GIFT,
        amount="20.00",
        currency="USD",
        reason="For the trouble.",
    )
    ticket = ticket_resolve(ticket=ticket, actor=assignee_of(ticket), message="It is done.")
    page = text(Client().get(page_path(ticket)))
    assert "We granted you a gift worth $20.00." in page
    assert "on time." in page


def test_a_missed_promise_is_said_to_be_missed() -> None:
    ticket = advance(mishap(), to="committed")
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        page = text(Client().get(page_path(ticket)))
    assert "Not kept yet" in page


def test_opening_the_page_is_recorded_for_staff_but_not_when_staff_open_it(
    agent: User,
) -> None:
    ticket = TicketFactory()
    Client().get(page_path(ticket))
    Client().get(page_path(ticket))
    visit = CaseVisit.objects.get(ticket=ticket)
    assert visit.times == 2
    staff = Client()
    staff.force_login(agent)
    staff.get(page_path(ticket))
    visit.refresh_from_db()
    assert visit.times == 2


def test_the_query_count_does_not_grow_with_the_conversation(
    django_assert_max_num_queries: Any,
) -> None:
    ticket = advance(mishap(), to="rebuilding")
    for n in range(12):
        message_create(
            ticket=ticket, actor=assignee_of(ticket), body=f"Note {n}", public=n % 2 == 0
        )
    with django_assert_max_num_queries(14):
        assert Client().get(page_path(ticket)).status_code == 200


# --- Answering --------------------------------------------------------------------------------


def test_a_reply_lands_as_the_customers_message_and_tells_the_assignee() -> None:
    ticket = TicketFactory()
    client = Client()
    response = client.post(
        f"{page_path(ticket)}reply/", {"body": "Any news about my order?"}, follow=True
    )
    assert response.status_code == 200
    assert "Your message has reached us" in text(response)
    message = not_none(ticket.messages.order_by("-id").first())
    assert message.author_kind == Message.Author.CUSTOMER
    assert message.body == "Any news about my order?"
    assert assignee_of(ticket).notifications.filter(kind=NotificationKind.CUSTOMER_REPLIED).exists()
    assert ticket.events.filter(action="customer_replied", payload__via="case_page").exists()


def test_a_reply_reopens_a_resolved_ticket() -> None:
    ticket = advance(mishap(), to="rebuilding")
    Client().post(f"{page_path(ticket)}reply/", {"body": "It broke again."})
    ticket.refresh_from_db()
    assert ticket.status == Status.ACKNOWLEDGED or ticket.status not in (
        Status.REBUILDING,
        Status.RESOLVED,
    )
    assert ticket.reopened_at is not None


def test_a_reply_to_a_finished_case_opens_a_new_one_and_goes_to_its_page() -> None:
    ticket = advance(mishap(), to="restored")
    response = Client().post(f"{page_path(ticket)}reply/", {"body": "Another problem."})
    assert response.status_code == 302
    new = Ticket.objects.exclude(pk=ticket.pk).get(customer=ticket.customer)
    assert case_token(new).split(":")[0] in response["Location"]
    assert "done=new_case" in response["Location"]
    assert ticket.reference in new.messages.get().body


def test_an_empty_reply_is_refused_and_changes_nothing() -> None:
    ticket = TicketFactory()
    before = ticket.messages.count()
    response = Client().post(f"{page_path(ticket)}reply/", {"body": "   "})
    assert response.status_code == 400
    assert "This field is required" in text(response) or "cannot be empty" in text(response)
    assert ticket.messages.count() == before


def test_files_over_the_limit_are_refused_with_the_limit(settings: Any) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.HELPDESK_MAX_ATTACHMENT_BYTES = 10
    ticket = TicketFactory()
    big = SimpleUploadedFile("photo.jpg", b"x" * 11, content_type="image/jpeg")
    response = Client().post(
        f"{page_path(ticket)}reply/", {"body": "See photo", "attachments": big}
    )
    assert response.status_code == 400
    assert "photo.jpg is larger than the limit" in text(response)
    assert ticket.messages.count() == 1


def test_public_files_download_and_others_do_not() -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    ticket = TicketFactory()
    client = Client()
    client.post(
        f"{page_path(ticket)}reply/",
        {"body": "Receipt", "attachments": SimpleUploadedFile("r.txt", b"receipt", "text/plain")},
    )
    note = message_create(
        ticket=ticket,
        actor=assignee_of(ticket),
        body="internal",
        public=False,
        attachments=[SimpleUploadedFile("secret.txt", b"secret", "text/plain")],
    )
    public_file = ticket.messages.get(body="Receipt").attachments.get()
    page = text(client.get(page_path(ticket)))
    assert "r.txt" in page
    assert "secret.txt" not in page
    response = client.get(f"{page_path(ticket)}files/{public_file.pk}/")
    assert response.status_code == 200
    assert isinstance(response, FileResponse)
    assert response.getvalue() == b"receipt"
    assert response["Content-Disposition"].startswith("attachment")
    hidden = note.attachments.get()
    assert client.get(f"{page_path(ticket)}files/{hidden.pk}/").status_code == 404
    other = TicketFactory()
    assert client.get(f"{page_path(other)}files/{public_file.pk}/").status_code == 404


def test_the_rating_a_follow_up_asks_for_is_given_on_the_page() -> None:
    ticket = advance(mishap(), to="rebuilding")
    followup = not_none(ticket.followups.order_by("due_at").first())
    followup.status = "sent"
    followup.sent_at = timezone.now()
    followup.save()
    client = Client()
    assert "How are we doing?" in text(client.get(page_path(ticket)))
    client.post(f"{page_path(ticket)}rating/", {"rating": "4", "comment": "Better now."})
    feedback = Feedback.objects.get(followup=followup)
    assert (feedback.rating, feedback.comment) == (4, "Better now.")
    client.post(f"{page_path(ticket)}rating/", {"rating": "5", "comment": ""})
    feedback.refresh_from_db()
    assert feedback.rating == 5


def test_no_rating_is_asked_before_a_follow_up_asks() -> None:
    ticket = advance(mishap(), to="rebuilding")
    assert "How are we doing?" not in text(Client().get(page_path(ticket)))
    response = Client().post(f"{page_path(ticket)}rating/", {"rating": "1"})
    assert response.status_code == 302
    assert not Feedback.objects.exists()


def test_the_follow_ups_can_be_stopped_and_taken_back() -> None:
    ticket = advance(mishap(), to="rebuilding")
    client = Client()
    client.post(f"{page_path(ticket)}follow-ups/", {"follow_ups": "stop"})
    assert FollowUpOptOut.objects.filter(customer=ticket.customer).exists()
    assert not ticket.followups.filter(status="scheduled").exists()
    client.post(f"{page_path(ticket)}follow-ups/", {"follow_ups": "resume"})
    assert not FollowUpOptOut.objects.filter(customer=ticket.customer).exists()
    assert ticket.followups.filter(status="scheduled").exists()


# --- Links that stay safe ---------------------------------------------------------------------


def test_a_tampered_link_gives_400_and_changes_nothing() -> None:
    ticket = TicketFactory()
    token = case_token(ticket)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    client = Client()
    response = client.get(f"/case/{tampered}/")
    assert response.status_code == 400
    assert "This link is not valid" in text(response)
    before = ticket.messages.count()
    assert client.post(f"/case/{tampered}/reply/", {"body": "hi"}).status_code == 400
    assert ticket.messages.count() == before
    assert not CaseVisit.objects.exists()


def test_a_link_for_another_customer_or_shape_opens_nothing() -> None:
    from django.core import signing

    ticket = TicketFactory()
    other = TicketFactory()
    forged = signing.dumps({"t": ticket.pk, "c": other.customer_id}, salt="cases.case")
    assert Client().get(f"/case/{forged}/").status_code == 400
    odd = signing.dumps({"t": True, "c": ticket.customer_id}, salt="cases.case")
    assert Client().get(f"/case/{odd}/").status_code == 400
    wrong_salt = signing.dumps({"t": ticket.pk, "c": ticket.customer_id}, salt="x")
    assert Client().get(f"/case/{wrong_salt}/").status_code == 400


def test_an_expired_link_offers_a_fresh_one_by_email(settings: Any) -> None:
    ticket = TicketFactory()
    path = page_path(ticket)
    with time_machine.travel(timezone.now() + timedelta(days=61)):
        client = Client()
        response = client.get(path)
        assert response.status_code == 410
        assert "Email me a fresh link" in text(response)
        assert ticket.customer.email not in text(response)
        sent = client.post(f"{path}fresh-link/")
        assert sent.status_code == 200
        assert "A fresh link is on its way" in text(sent)
        mail.outbox.clear()
        deliver_outbox(source="cases.email")
    assert len(mail.outbox) == 1
    fresh = mail.outbox[0]
    assert fresh.to[0].endswith(f"<{ticket.customer.email}>") or fresh.to == [ticket.customer.email]
    link = not_none(re.search(r"http://\S+/case/\S+/", str(fresh.body))).group(0)
    assert Client().get(urlsplit(link).path).status_code == 200
    assert ticket.events.filter(action="case_link_sent").count() == 1


def test_asking_for_links_by_address_says_the_same_whether_or_not_we_know_it() -> None:
    ticket = TicketFactory()
    client = Client()
    known = client.post("/case/new-link/", {"email": ticket.customer.email})
    unknown = client.post("/case/new-link/", {"email": "nobody@example.org"})
    assert known.status_code == unknown.status_code == 200
    assert text(known) == text(unknown)
    mail.outbox.clear()
    deliver_outbox(source="cases.email")
    assert len(mail.outbox) == 1
    assert ticket.reference in mail.outbox[0].body


def test_asking_for_links_is_throttled_by_address_and_by_client(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "case_link_address", "2/hour")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "case_link_ip", "4/hour")
    codes = [
        Client(REMOTE_ADDR=f"10.0.0.{n}").post("/case/new-link/", {"email": "a@example.org"})
        for n in range(3)
    ]
    assert [c.status_code for c in codes] == [200, 200, 429]
    assert int(codes[2]["Retry-After"]) > 0
    same_client = Client(REMOTE_ADDR="10.0.1.1")
    answers = [
        same_client.post("/case/new-link/", {"email": f"b{n}@example.org"}).status_code
        for n in range(5)
    ]
    assert answers == [200, 200, 200, 200, 429]


# --- The link in every customer email ----------------------------------------------------------


def test_every_customer_email_carries_the_case_link() -> None:
    ticket = advance(mishap(), to="rebuilding")
    followup = not_none(ticket.followups.order_by("due_at").first())
    mail.outbox.clear()
    deliver_outbox(source="tickets.message")
    from recovery.tasks import sweep_followups

    with time_machine.travel(followup.due_at + timedelta(hours=1)):
        sweep_followups.apply()
        deliver_outbox()
    assert len(mail.outbox) >= 5
    for sent in sent_emails():
        html = html_of(sent)
        assert "/case/" in sent.body, sent.subject
        assert "/case/" in html, sent.subject
        link = not_none(re.search(r"http://\S+/case/[^/\s]+/", str(sent.body))).group(0)
        assert Client().get(urlsplit(link).path).status_code == 200
