"""For staff: the ticket page offers the customer's case link and says when
the customer last opened it."""

from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import TicketFactory

pytestmark = pytest.mark.django_db


def test_the_ticket_page_offers_the_link_and_when_it_was_last_opened(agent: User) -> None:
    ticket = TicketFactory(actor=agent)
    staff = Client()
    staff.force_login(agent)
    page = staff.get(reverse("console:tickets_ticket_change", args=[ticket.pk])).content.decode()
    assert "Copy the customer&#x27;s link" in page or "Copy the customer's link" in page
    assert "Not opened by the customer yet" in page
    link = page.split('id="case-link" readonly value="')[1].split('"')[0]
    assert Client().get(urlsplit(link).path).status_code == 200
    page = staff.get(reverse("console:tickets_ticket_change", args=[ticket.pk])).content.decode()
    assert "Last opened by the customer" in page
