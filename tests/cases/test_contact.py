"""/contact/: a ticket for someone who has none yet, through the same
service as an email, a confirmation with their case link, and no spam."""

import re
import time
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.core import mail, signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.throttling import SimpleRateThrottle

from cases.forms import STARTED_SALT
from tests.delivery import deliver_outbox
from tests.factories import QueueFactory
from tests.helpers import not_none
from tickets.models import Channel, Ticket

pytestmark = pytest.mark.django_db


def started(seconds_ago: float = 30) -> str:
    return signing.dumps(time.time() - seconds_ago, salt=STARTED_SALT)


def form(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Ana Costa",
        "email": "ana@example.com",
        "subject": "My blender arrived broken",
        "body": "The jar is cracked.",
        "website": "",
        "started": started(),
        "time_zone": "America/Sao_Paulo",
        **overrides,
    }


def test_the_form_opens_a_ticket_and_sends_a_confirmation_with_the_case_link(
    settings: Any,
) -> None:
    queue = QueueFactory(slug="web")
    settings.HELPDESK_CONTACT_QUEUE = "web"
    client = Client(HTTP_ACCEPT_LANGUAGE="pt-BR")
    page = client.get("/contact/")
    assert page.status_code == 200
    photo = SimpleUploadedFile("jar.jpg", b"\xff\xd8photo", content_type="image/jpeg")
    response = client.post("/contact/", form(attachment=photo))
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert response.content.decode().count(ticket.reference) == 1
    assert (ticket.channel, ticket.queue, ticket.assignee) == (Channel.WEB, queue, None)
    assert ticket.customer.name == "Ana Costa"
    assert ticket.customer.locale == "pt-br"
    assert ticket.customer.time_zone == "America/Sao_Paulo"
    first = ticket.messages.get()
    assert first.body == "The jar is cracked."
    assert first.attachments.get().name == "jar.jpg"
    mail.outbox.clear()
    deliver_outbox()
    assert len(mail.outbox) == 1
    confirmation = mail.outbox[0]
    assert ticket.reference in confirmation.subject
    assert confirmation.extra_headers["Content-Language"] == "pt-BR"
    link = not_none(re.search(r"http://\S+/case/\S+/", str(confirmation.body))).group(0)
    assert Client().get(urlsplit(link).path).status_code == 200


def test_a_filled_honeypot_creates_nothing() -> None:
    response = Client().post("/contact/", form(website="http://spam.example"))
    assert response.status_code == 400
    assert not Ticket.objects.exists()
    assert "could not be sent" in response.content.decode()


def test_a_form_posted_faster_than_a_person_could_type_creates_nothing() -> None:
    response = Client().post("/contact/", form(started=started(seconds_ago=0.5)))
    assert response.status_code == 400
    assert not Ticket.objects.exists()
    page = response.content.decode()
    assert "faster than anyone can type" in page
    assert "The jar is cracked." in page  # what was typed is kept


def test_a_form_never_fetched_or_forged_creates_nothing() -> None:
    assert Client().post("/contact/", form(started="")).status_code == 400
    assert Client().post("/contact/", form(started="12345:forged")).status_code == 400
    assert not Ticket.objects.exists()


def test_missing_fields_and_a_bad_address_are_named() -> None:
    response = Client().post("/contact/", form(email="not an address", subject=""))
    assert response.status_code == 400
    assert not Ticket.objects.exists()


def test_an_unknown_time_zone_is_left_unknown() -> None:
    Client().post("/contact/", form(time_zone="Mars/Olympus_Mons"))
    assert Ticket.objects.get().customer.time_zone == ""


def test_a_known_customer_keeps_their_name_and_language() -> None:
    Client().post("/contact/", form())
    Client(HTTP_ACCEPT_LANGUAGE="de").post("/contact/", form(name="Someone Else", subject="Again"))
    customer = Ticket.objects.first().customer
    assert Ticket.objects.filter(customer=customer).count() == 2
    assert customer.name == "Ana Costa"
    assert customer.locale == "en"


def test_the_form_is_throttled_by_address_and_by_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "contact_address", "2/hour")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, "contact_ip", "3/hour")
    codes = [
        Client(REMOTE_ADDR=f"10.0.0.{n}").post("/contact/", form()).status_code for n in range(3)
    ]
    assert codes == [200, 200, 429]
    client = Client(REMOTE_ADDR="10.0.2.2")
    codes = [
        client.post("/contact/", form(email=f"p{n}@example.com")).status_code for n in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    assert Ticket.objects.count() == 5


def test_a_failing_service_leaves_nothing_behind() -> None:
    with (
        mock.patch("cases.services.case_email_queue", side_effect=RuntimeError("boom")),
        pytest.raises(RuntimeError),
    ):
        Client(raise_request_exception=True).post("/contact/", form())
    assert not Ticket.objects.exists()
