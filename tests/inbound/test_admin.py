import pytest
from django.urls import reverse

from accounts.models import User
from inbound.models import InboundEmail
from inbound.services import inbound_receive
from tests.helpers import console_client
from tests.inbound.mail import raw_email

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:inbound_inboundemail_changelist")


def quarantined(settings: object) -> InboundEmail:
    settings.HELPDESK_MAX_ATTACHMENTS = 0  # type: ignore[attr-defined]
    raw = raw_email(attachments=[("a.txt", b"a", "text/plain")])
    return inbound_receive(raw=raw, source="pipe").email


def test_admins_see_the_quarantine_and_download_the_raw_message(
    admin_staff: User, settings: object
) -> None:
    email = quarantined(settings)
    client = console_client(admin_staff)

    listing = client.get(CHANGELIST, {"status__exact": "quarantined"})
    raw = client.get(reverse("admin:inbound_inboundemail_raw", args=[email.pk]))

    assert email.subject in listing.content.decode()
    assert raw["Content-Type"] == "message/rfc822"
    assert raw.content == bytes(email.raw)


def test_retry_from_the_admin_runs_the_service(admin_staff: User, settings: object) -> None:
    email = quarantined(settings)
    settings.HELPDESK_MAX_ATTACHMENTS = 5  # type: ignore[attr-defined]

    console_client(admin_staff).post(
        CHANGELIST, {"action": "retry", "_selected_action": [email.pk]}
    )

    email.refresh_from_db()
    assert email.status == InboundEmail.Status.PROCESSED


def test_discarding_a_processed_message_is_refused_with_the_reason(admin_staff: User) -> None:
    email = inbound_receive(raw=raw_email(), source="pipe").email

    response = console_client(admin_staff).post(
        CHANGELIST, {"action": "discard", "_selected_action": [email.pk]}, follow=True
    )

    assert "Only a quarantined message can be discarded." in response.content.decode()
    email.refresh_from_db()
    assert email.status == InboundEmail.Status.PROCESSED


def test_the_admin_page_edits_nothing(admin_staff: User, settings: object) -> None:
    email = quarantined(settings)
    change = reverse("admin:inbound_inboundemail_change", args=[email.pk])

    console_client(admin_staff).post(change, {"status": "processed", "reason": "forged"})

    email.refresh_from_db()
    assert email.status == InboundEmail.Status.QUARANTINED


def test_supervisors_do_not_see_the_quarantine(supervisor: User) -> None:
    response = console_client(supervisor).get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_retry_that_cannot_help_is_refused_with_the_reason(admin_staff: User) -> None:
    email = inbound_receive(raw=raw_email(sender="xxxxx@xxxxx"), source="pipe").email
    assert email.status == InboundEmail.Status.QUARANTINED

    response = console_client(admin_staff).post(
        CHANGELIST, {"action": "retry", "_selected_action": [email.pk]}, follow=True
    )

    page = response.content.decode()
    assert f"Trying again cannot help #{email.pk} (xxxxx@xxxxx)" in page
    email.refresh_from_db()
    assert (email.status, email.attempts) == (InboundEmail.Status.QUARANTINED, 1)
