"""The rebuilding period: scheduling, sweeping, sending once, the customer's links."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail, signing
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.utils import timezone

from accounts.models import User
from outbox.dispatch import outbox_dispatch
from outbox.models import OutboxItem
from outbox.services import outbox_sweep
from outbox.tasks import outbox_dispatch_task
from recovery.models import Feedback, FollowUp, FollowUpOptOut, FollowUpPlan, ProcessFix
from recovery.selectors.followup_links import FEEDBACK_SALT, UNSUBSCRIBE_SALT, links_for
from recovery.services import process_fix_create, process_fix_set_status
from recovery.services.followup_delivery import SOURCE
from recovery.services.followups import (
    followups_claim_due,
    morning_slot,
    tickets_restore_finished,
)
from tests import delivery
from tests.delivery import deliver_outbox, item_for
from tests.factories import TicketFactory, advance
from tests.helpers import (
    assignee_of,
    client_for,
    free_port,
    link_path,
    not_none,
    rebuilding_mishap,
    sent_emails,
    unsubscribe_url,
)
from tests.smtp import SmtpSink
from tickets.models import Alert, Kind, Status, Ticket
from tickets.services import ticket_close, ticket_reopen

pytestmark = pytest.mark.django_db


def make_due(ticket: Ticket) -> list[FollowUp]:
    ticket.followups.update(due_at=timezone.now() - timedelta(minutes=1))
    return list(ticket.followups.all())


def outbox_row(followup: FollowUp) -> OutboxItem:
    return item_for(SOURCE, followup.pk)


def message_id(mail: Any) -> str:
    return str(mail["Message-ID"])


# --- Scheduling ---------------------------------------------------------------------


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles", "Europe/Berlin"])
def test_resolving_a_mishap_schedules_day_1_7_30_in_the_customers_morning(zone: str) -> None:
    resolved_at = datetime(2026, 6, 10, 22, 30, tzinfo=UTC)
    with time_machine.travel(resolved_at, tick=False):
        ticket = rebuilding_mishap(zone)

    followups = list(ticket.followups.order_by("due_at"))
    local_resolved = resolved_at.astimezone(ZoneInfo(zone)).date()
    assert [f.offset_days for f in followups] == [1, 7, 30]
    assert all(f.status == FollowUp.Status.SCHEDULED for f in followups)
    for followup in followups:
        local = followup.due_at.astimezone(ZoneInfo(zone))
        assert 9 <= local.hour < 11, local
        assert local.date() == local_resolved + timedelta(days=followup.offset_days)
    assert ticket.events.filter(action="followups_scheduled").count() == 1


def test_a_follow_up_on_the_day_clocks_change_still_lands_in_the_morning() -> None:
    # Europe/Berlin springs forward on 29 March 2026 at 02:00.
    with time_machine.travel(datetime(2026, 3, 28, 12, 0, tzinfo=UTC), tick=False):
        ticket = rebuilding_mishap("Europe/Berlin")

    first = not_none(ticket.followups.order_by("due_at").first())
    local = first.due_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert local.date().isoformat() == "2026-03-29"
    assert 9 <= local.hour < 11
    assert local.utcoffset() == timedelta(hours=2)


def test_a_slot_inside_a_dst_gap_becomes_a_real_instant(settings: Any) -> None:
    settings.HELPDESK_FOLLOWUP_WINDOW_START = 2
    settings.HELPDESK_FOLLOWUP_WINDOW_END = 3
    zone = ZoneInfo("Europe/Berlin")
    from datetime import date

    slot = morning_slot(day=date(2026, 3, 29), zone=zone, spread_key=1)

    assert slot.astimezone(UTC).astimezone(zone) == slot
    assert slot.hour == 3  # 02:xx does not exist that night


def answered(zone: str = "Europe/Berlin", **kwargs: Any) -> Ticket:
    ticket = TicketFactory(kind=Kind.QUESTION, **kwargs)
    customer = ticket.customer
    customer.time_zone = zone
    customer.save(update_fields=["time_zone"])
    return advance(ticket, to="resolved")


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "America/Los_Angeles"])
def test_an_answered_question_gets_one_how_did_we_do_the_next_morning(zone: str) -> None:
    resolved_at = datetime(2026, 6, 10, 22, 30, tzinfo=UTC)
    with time_machine.travel(resolved_at, tick=False):
        ticket = answered(zone)

    [followup] = ticket.followups.all()
    local = followup.due_at.astimezone(ZoneInfo(zone))
    assert (followup.step_number, followup.offset_days) == (1, 1)
    assert followup.subject_template == "How did we do?"
    assert followup.status == FollowUp.Status.SCHEDULED
    assert local.date() == resolved_at.astimezone(ZoneInfo(zone)).date() + timedelta(days=1)
    assert 9 <= local.hour < 11, local
    assert ticket.events.filter(action="followups_scheduled").count() == 1


def test_a_question_follow_up_does_not_follow_the_mishap_plans() -> None:
    FollowUpPlan.objects.filter(severity="minor").delete()
    plan = FollowUpPlan.objects.create(severity="minor")
    plan.steps.create(offset_days=3, subject_template="Mishap check-in", body_template="Hi.")

    [followup] = answered().followups.all()

    assert (followup.offset_days, followup.subject_template) == (1, "How did we do?")


def test_closing_an_answered_question_keeps_its_follow_up_and_reopening_cancels_it() -> None:
    closed = ticket_close(ticket=answered(), actor=None)
    assert closed.followups.get().status == FollowUp.Status.SCHEDULED

    ticket_reopen(ticket=closed, actor=closed.assignee, reason="Not answered after all.")

    followup = closed.followups.get()
    assert followup.status == FollowUp.Status.CANCELLED
    assert followup.cancel_reason == "The ticket was reopened."


def test_a_customer_who_unsubscribed_gets_no_question_follow_up() -> None:
    ticket = TicketFactory(kind=Kind.QUESTION)
    FollowUpOptOut.objects.create(customer=ticket.customer)

    ticket = advance(ticket, to="resolved")

    assert not ticket.followups.exists()
    assert ticket.events.filter(action="followups_skipped").exists()


def test_a_question_follow_up_is_sent_with_the_rating_link(smtp_sink: SmtpSink) -> None:
    [followup] = make_due(answered(customer_name="Lena Fischer", subject="Gift wrap?"))
    followups_claim_due()

    # A frozen clock: signed links carry the second they were made in.
    with time_machine.travel(timezone.now(), tick=False):
        assert deliver_outbox(source=SOURCE).sent == [outbox_row(followup).pk]
        links = links_for(followup)

    [mail] = smtp_sink.received
    text = not_none(mail.get_body(("plain",))).get_content().replace("\r\n", "\n")
    html = not_none(mail.get_body(("html",))).get_content()
    assert mail["Subject"] == f"How did we do? [{followup.ticket.reference}]"
    assert text.startswith("Hello Lena Fischer,\n\nYesterday we answered your question")
    assert "Gift wrap?" not in text  # the subject is not pasted into a sentence
    for _rating, url in links.ratings:
        assert url in text
        assert url.replace("&", "&amp;") in html
    assert str(mail["List-Unsubscribe"]).strip() == f"<{links.unsubscribe}>"
    assert FollowUp.objects.get(pk=followup.pk).status == FollowUp.Status.SENT


def test_a_customer_who_unsubscribed_gets_no_new_follow_ups() -> None:
    ticket = TicketFactory(kind=Kind.MISHAP)
    FollowUpOptOut.objects.create(customer=ticket.customer)

    ticket = advance(ticket, to="rebuilding")

    assert not ticket.followups.exists()
    assert ticket.events.filter(action="followups_skipped").exists()


def test_reopening_cancels_pending_follow_ups() -> None:
    ticket = rebuilding_mishap()

    ticket_reopen(ticket=ticket, actor=ticket.assignee, reason="Broke again.")

    assert set(ticket.followups.values_list("status", flat=True)) == {FollowUp.Status.CANCELLED}
    assert not_none(ticket.followups.first()).cancel_reason == "The ticket was reopened."


# --- Sweeping and sending -------------------------------------------------------------------


def test_the_sweep_queues_due_rows_only() -> None:
    ticket = rebuilding_mishap()
    first = not_none(ticket.followups.order_by("due_at").first())
    FollowUp.objects.filter(pk=first.pk).update(due_at=timezone.now() - timedelta(seconds=1))

    claimed = followups_claim_due()

    assert claimed == [first.pk]
    assert FollowUp.objects.get(pk=first.pk).status == FollowUp.Status.QUEUED
    assert ticket.followups.filter(status=FollowUp.Status.SCHEDULED).count() == 2
    assert followups_claim_due() == []


def test_a_sweep_run_for_a_later_time_hands_its_rows_over_due_now() -> None:
    ticket = rebuilding_mishap()
    first = not_none(ticket.followups.order_by("due_at").first())

    assert followups_claim_due(now=first.due_at + timedelta(minutes=1)) == [first.pk]

    # Due by the outbox's clock, not held back until the sweep's ``now``.
    assert outbox_row(first).due_at <= timezone.now()
    assert deliver_outbox(source=SOURCE).sent == [outbox_row(first).pk]


def test_follow_ups_whose_worker_died_mid_send_are_sent_once_its_claim_lapses(
    smtp_sink: SmtpSink, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    followups = make_due(rebuilding_mishap())
    assert sorted(followups_claim_due()) == sorted(f.pk for f in followups)
    assert followups_claim_due() == []  # queued once: one outbox row each
    # A worker claimed their rows and was killed: no task of theirs is left.
    rows = OutboxItem.objects.filter(source=SOURCE)
    rows.update(
        status=OutboxItem.Status.SENDING,
        lease_token=uuid.uuid4(),
        lease_until=timezone.now() + settings.HELPDESK_OUTBOX_LEASE,
    )
    assert deliver_outbox(source=SOURCE).claimed == 0  # still its, for now
    queued_tasks: list[Any] = []
    monkeypatch.setattr(outbox_dispatch_task, "delay", queued_tasks.append)

    with time_machine.travel(
        timezone.now() + settings.HELPDESK_OUTBOX_LEASE + timedelta(seconds=1)
    ):
        swept = outbox_sweep()
        assert swept.reclaimed == 3
        assert queued_tasks  # workers are sent to them
        deliver_outbox(source=SOURCE)

    assert sorted(message_id(m) for m in smtp_sink.received) == sorted(
        f.message_id for f in followups
    )
    assert set(
        FollowUp.objects.filter(pk__in=[f.pk for f in followups]).values_list("status", "attempts")
    ) == {(FollowUp.Status.SENT, 1)}


def test_a_follow_up_is_sent_once_with_its_headers_and_links(smtp_sink: SmtpSink) -> None:
    [followup, *_] = make_due(rebuilding_mishap(customer_name="Aiko Tanaka"))
    followups_claim_due()

    row = outbox_row(followup)

    # A frozen clock: signed links carry the second they were made in.
    with time_machine.travel(timezone.now(), tick=False):
        assert outbox_dispatch(item_ids=[row.pk]).sent == [row.pk]
        # A duplicate task for its row finds it sent.
        assert outbox_dispatch(item_ids=[row.pk]).claimed == 0
        unsubscribe = links_for(followup).unsubscribe

    [mail] = smtp_sink.received
    followup.refresh_from_db()
    assert followup.status == FollowUp.Status.SENT
    assert mail["Message-ID"] == followup.message_id
    # A long header may be folded onto a second line; unfolded it is the link.
    assert str(mail["List-Unsubscribe"]).strip() == f"<{unsubscribe}>"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = not_none(mail.get_body(("plain",))).get_content().replace("\r\n", "\n")
    assert text.startswith("Hello Aiko Tanaka,\n\n")
    assert "We sent the wrong item." not in text  # our part is the staff's, never told
    assert "A replacement ships today." in text  # the promise, kept
    assert "/feedback/" in text
    assert "/feedback/" in not_none(mail.get_body(("html",))).get_content()


def test_a_refused_follow_up_fails_at_once_and_the_agent_is_told(smtp_sink: SmtpSink) -> None:
    [followup, *_] = make_due(rebuilding_mishap())
    followups_claim_due()
    smtp_sink.handler.refuse_next = 1
    row = outbox_row(followup)

    dispatch = outbox_dispatch(item_ids=[row.pk])

    followup.refresh_from_db()
    row.refresh_from_db()
    assert (followup.status, followup.attempts) == (FollowUp.Status.FAILED, 1)
    assert "554" in followup.last_error
    assert row.pk in dispatch.failed
    assert row.status == OutboxItem.Status.FAILED
    alert = Alert.objects.get(kind=Alert.Kind.FOLLOWUP_FAILED)
    assert list(alert.recipients.all()) == [followup.ticket.assignee]
    assert "554" in alert.detail
    assert followup.ticket.events.get(action="followup_failed").payload["followup"] == followup.pk
    # Not tried again: a refusal for good is not worth another.
    delivery.make_due(SOURCE)
    assert outbox_dispatch(item_ids=[row.pk]).claimed == 0
    assert smtp_sink.received == []


def test_a_follow_up_that_cannot_reach_the_server_is_retried_then_failed_and_the_agent_told(
    settings: Any, no_smtp_server: None
) -> None:
    [followup, *_] = make_due(rebuilding_mishap())
    followups_claim_due()

    for attempt in (1, 2, 3):
        delivery.make_due(SOURCE)
        assert outbox_dispatch(item_ids=[outbox_row(followup).pk]).retrying
        followup.refresh_from_db()
        row = outbox_row(followup)
        assert (followup.status, followup.attempts) == (FollowUp.Status.QUEUED, attempt)
        assert (row.status, row.attempts) == (OutboxItem.Status.PENDING, attempt)
        assert row.due_at > timezone.now()  # a backoff before the next try
        assert "refused" in followup.last_error.lower()
    assert not Alert.objects.filter(kind=Alert.Kind.FOLLOWUP_FAILED).exists()

    # Still no server when the retry period is over: it fails for good.
    OutboxItem.objects.filter(pk=row.pk).update(
        first_failure_at=timezone.now() - settings.HELPDESK_OUTBOX_RETRY_FOR
    )
    delivery.make_due(SOURCE)
    assert row.pk in outbox_dispatch(item_ids=[row.pk]).failed

    followup.refresh_from_db()
    assert (followup.status, followup.attempts) == (FollowUp.Status.FAILED, 4)
    assert followup.last_error.startswith("Gave up after 4 attempts")
    alert = Alert.objects.get(kind=Alert.Kind.FOLLOWUP_FAILED)
    assert list(alert.recipients.all()) == [followup.ticket.assignee]
    assert "after 4 tries" in alert.detail


# --- The customer's links --------------------------------------------------------------------


def feedback_url(followup: FollowUp) -> str:
    return link_path(links_for(followup).feedback)


def test_the_feedback_link_records_a_rating_once() -> None:
    followup = not_none(rebuilding_mishap().followups.first())
    client = Client()

    assert client.get(feedback_url(followup)).status_code == 200
    response = client.post(feedback_url(followup), {"rating": "4", "comment": "Much better."})
    again = client.post(feedback_url(followup), {"rating": "1"})

    assert response.status_code == 200
    assert b"Thank you" in response.content
    assert b"already have your answer" in again.content
    feedback = Feedback.objects.get()
    assert (feedback.rating, feedback.comment) == (4, "Much better.")
    assert not Alert.objects.filter(kind=Alert.Kind.LOW_RATING).exists()


def test_a_question_follow_up_link_records_the_rating() -> None:
    followup = answered().followups.get()

    response = Client().post(feedback_url(followup), {"rating": "5", "comment": "Quick!"})

    assert response.status_code == 200
    feedback = Feedback.objects.get()
    assert (feedback.ticket_id, feedback.rating) == (followup.ticket_id, 5)


def test_a_low_rating_alerts_the_agent_and_supervisors(supervisor: User) -> None:
    followup = not_none(rebuilding_mishap().followups.first())

    Client().post(feedback_url(followup), {"rating": "1", "comment": "Still broken."})

    alert = Alert.objects.get(kind=Alert.Kind.LOW_RATING)
    assert set(alert.recipients.all()) == {followup.ticket.assignee, supervisor}
    assert "Still broken." in alert.detail


def test_a_rating_out_of_range_is_refused_with_the_form_again() -> None:
    followup = not_none(rebuilding_mishap().followups.first())

    response = Client().post(feedback_url(followup), {"rating": "9"})

    assert response.status_code == 400
    assert b"Choose a rating from 1 to 5." in response.content
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("path", ["feedback", "unsubscribe"])
def test_a_tampered_link_is_refused_and_changes_nothing(path: str) -> None:
    followup = not_none(rebuilding_mishap().followups.first())
    token = signing.dumps({"f": followup.pk}, salt="someone-else")

    response = Client().post(f"/{path}/{token}/", {"rating": "5"})

    assert response.status_code == 400
    assert b"not valid" in response.content
    assert not Feedback.objects.exists()
    assert not FollowUpOptOut.objects.exists()


def test_an_expired_link_is_refused() -> None:
    followup = not_none(rebuilding_mishap().followups.first())
    url = feedback_url(followup)

    with time_machine.travel(timezone.now() + timedelta(days=61)):
        response = Client().post(url, {"rating": "5"})

    assert response.status_code == 410
    assert b"expired" in response.content
    assert not Feedback.objects.exists()


def test_a_feedback_token_is_not_an_unsubscribe_token() -> None:
    followup = not_none(rebuilding_mishap().followups.first())
    token = signing.dumps({"f": followup.pk}, salt=FEEDBACK_SALT, compress=True)

    assert Client().post(f"/unsubscribe/{token}/").status_code == 400
    assert not FollowUpOptOut.objects.exists()


def test_opening_the_unsubscribe_link_only_asks() -> None:
    followup = not_none(rebuilding_mishap().followups.first())

    response = Client().get(unsubscribe_url(followup))

    assert response.status_code == 200
    assert not FollowUpOptOut.objects.exists()


def test_one_click_unsubscribe_cancels_the_remaining_follow_ups() -> None:
    ticket = rebuilding_mishap()
    other = rebuilding_mishap(customer_email=ticket.customer.email)
    followup = not_none(ticket.followups.first())

    response = Client(enforce_csrf_checks=True).post(
        unsubscribe_url(followup), {"List-Unsubscribe": "One-Click"}
    )

    assert response.status_code == 200
    assert FollowUpOptOut.objects.filter(customer=ticket.customer).exists()
    statuses = FollowUp.objects.filter(ticket__in=[ticket, other]).values_list("status", flat=True)
    assert set(statuses) == {FollowUp.Status.CANCELLED}


# --- The end of the rebuilding period -------------------------------------------------------


def finish_plan(ticket: Ticket, *, days_ago: int) -> None:
    ticket.followups.update(
        status=FollowUp.Status.SENT, sent_at=timezone.now() - timedelta(days=days_ago)
    )


def test_a_finished_plan_restores_the_ticket_after_the_grace_period() -> None:
    ticket = rebuilding_mishap()
    finish_plan(ticket, days_ago=4)

    assert tickets_restore_finished() == 1

    ticket.refresh_from_db()
    assert ticket.status == Status.RESTORED
    reason = ticket.events.get(action="restore").payload["reason"]
    assert reason == "The follow-up plan finished (3 sent) with no low rating."


def test_no_restore_within_the_grace_period_or_after_a_low_rating() -> None:
    recent = rebuilding_mishap()
    finish_plan(recent, days_ago=1)
    unhappy = rebuilding_mishap()
    finish_plan(unhappy, days_ago=10)
    Feedback.objects.create(
        ticket=unhappy, customer=unhappy.customer, followup=unhappy.followups.first(), rating=2
    )

    assert tickets_restore_finished() == 0
    assert Ticket.objects.filter(status=Status.REBUILDING).count() == 2


# --- API ---------------------------------------------------------------------------------------


def test_the_api_lists_a_tickets_follow_ups_and_cancels_one() -> None:
    ticket = rebuilding_mishap()
    api = client_for(assignee_of(ticket))

    listed = api.get(f"/api/v1/tickets/{ticket.pk}/follow-ups/").json()
    cancel = api.post(
        f"/api/v1/follow-ups/{listed[0]['id']}/cancel/",
        {"reason": "Customer asked."},
        format="json",
    )
    again = api.post(
        f"/api/v1/follow-ups/{listed[0]['id']}/cancel/", {"reason": "Twice."}, format="json"
    )

    assert [f["offset_days"] for f in listed] == [1, 7, 30]
    assert cancel.status_code == 200
    assert cancel.json()["status"] == "cancelled"
    assert again.status_code == 422
    assert (
        api.post(f"/api/v1/follow-ups/{listed[1]['id']}/cancel/", {}, format="json").status_code
        == 400
    )


def test_the_api_shows_a_follow_ups_tries_and_last_error(no_smtp_server: None) -> None:
    ticket = rebuilding_mishap()
    [followup, *_] = make_due(ticket)
    followups_claim_due()
    api = client_for(assignee_of(ticket))

    # Nobody listens: tried, to be tried again.
    assert outbox_dispatch(item_ids=[outbox_row(followup).pk]).retrying
    [listed] = [
        f
        for f in api.get(f"/api/v1/tickets/{ticket.pk}/follow-ups/").json()
        if f["id"] == followup.pk
    ]

    assert (listed["status"], listed["attempts"]) == ("queued", 1)
    assert "refused" in listed["last_error"].lower()
    assert listed["sent_at"] is None


# --- Found in review -------------------------------------------------------------------


def test_a_null_character_in_a_comment_is_refused_not_a_server_error() -> None:
    followup = not_none(rebuilding_mishap().followups.first())

    response = Client().post(feedback_url(followup), {"rating": "4", "comment": "hi\x00there"})

    assert response.status_code == 400
    assert b"null character" in response.content
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("trouble", ["refused", "unreachable"])
def test_a_follow_up_cancelled_during_a_failed_send_stays_cancelled(
    smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch, settings: Any, trouble: str
) -> None:
    [followup, *_] = make_due(rebuilding_mishap())
    followups_claim_due()
    from recovery.services import followup_delivery as service

    real_build = service.build_followup_email

    def build_then_cancel(row: FollowUp, context: dict[str, Any]) -> Any:
        FollowUp.objects.filter(pk=row.pk).update(status=FollowUp.Status.CANCELLED)
        return real_build(row, context)

    monkeypatch.setattr(service, "build_followup_email", build_then_cancel)
    sink_port = settings.EMAIL_PORT
    if trouble == "refused":  # for good
        smtp_sink.handler.refuse_next = 1
    else:  # for now
        settings.EMAIL_PORT = free_port()

    row = outbox_row(followup)
    assert outbox_dispatch(item_ids=[row.pk]).sent == []
    # The server willing again, a retry (if any) finds the follow-up cancelled.
    monkeypatch.undo()
    settings.EMAIL_PORT = sink_port
    delivery.make_due(SOURCE)
    outbox_dispatch(item_ids=[row.pk])

    assert FollowUp.objects.get(pk=followup.pk).status == FollowUp.Status.CANCELLED
    expected = {"refused": OutboxItem.Status.FAILED, "unreachable": OutboxItem.Status.CANCELLED}
    assert outbox_row(followup).status == expected[trouble]
    assert not Alert.objects.filter(kind=Alert.Kind.FOLLOWUP_FAILED).exists()
    assert not followup.ticket.events.filter(action="followup_failed").exists()
    assert smtp_sink.received == []


def test_a_follow_up_due_while_workers_were_down_waits_for_the_morning(
    settings: Any, smtp_sink: SmtpSink
) -> None:
    settings.HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW = True
    ticket = rebuilding_mishap("Europe/Berlin")
    night = datetime(2030, 7, 1, 1, 0, tzinfo=UTC)  # 03:00 in Berlin
    with time_machine.travel(night, tick=False):
        [followup, *_] = make_due(ticket)
        followups_claim_due()
        row = outbox_row(followup)
        dispatch = outbox_dispatch(item_ids=[row.pk])

    followup.refresh_from_db()
    row.refresh_from_db()
    local = row.due_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert (dispatch.sent, dispatch.postponed) == ([], [row.pk])
    assert smtp_sink.received == []
    assert (followup.status, followup.attempts) == (FollowUp.Status.QUEUED, 0)
    assert (row.status, row.attempts) == (OutboxItem.Status.PENDING, 0)
    assert (local.date().isoformat(), 9 <= local.hour < 11) == ("2030-07-01", True)

    # Not a minute before its morning; then it goes.
    with time_machine.travel(row.due_at - timedelta(minutes=1), tick=False):
        assert outbox_dispatch(item_ids=[row.pk]).claimed == 0
    with time_machine.travel(row.due_at + timedelta(minutes=1), tick=False):
        assert outbox_dispatch(item_ids=[row.pk]).sent == [row.pk]
    assert FollowUp.objects.get(pk=followup.pk).status == FollowUp.Status.SENT
    assert [message_id(m) for m in smtp_sink.received] == [followup.message_id]


@pytest.mark.django_db
def test_one_sweep_queues_a_backlog_batch_by_batch(
    agent: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A beat run does not stop at one batch: a backlog larger than a batch is
    queued in the same run, each batch in its own transaction."""
    import recovery.services.followups as followups
    import recovery.tasks as tasks

    monkeypatch.setattr(followups, "SWEEP_BATCH", 5)
    monkeypatch.setattr(tasks, "SWEEP_BATCH", 5)
    for _ in range(4):
        advance(TicketFactory(actor=agent, kind=Kind.MISHAP), to=Status.REBUILDING)

    with time_machine.travel(timezone.now() + timedelta(days=40)):
        queued = tasks.sweep_followups()

    assert queued == 12
    assert not FollowUp.objects.filter(status=FollowUp.Status.SCHEDULED).exists()


@pytest.mark.parametrize(
    "payload", [[1], "f", 7, {"f": "1"}, {"f": [1]}, {"f": True}, {"f": 10**30}, {}]
)
@pytest.mark.parametrize(
    ("path", "salt"), [("feedback", FEEDBACK_SALT), ("unsubscribe", UNSUBSCRIBE_SALT)]
)
def test_a_signed_link_of_the_wrong_shape_is_the_link_problem_page(
    payload: object, path: str, salt: str
) -> None:
    token = signing.dumps(payload, salt=salt, compress=True)

    response = Client().post(f"/{path}/{token}/", {"rating": "5"})

    assert response.status_code == 400
    assert b"This link is not valid" in response.content
    assert not Feedback.objects.exists()
    assert not FollowUpOptOut.objects.exists()


# --- Process fixes: told only once done, checked as the mail goes out ---------------------------

CHANGE = "Every charge now carries an idempotency key."


def fix_for(ticket: Ticket, *statuses: str) -> ProcessFix:
    """A fix linked to ``ticket``, moved through ``statuses`` by its owner."""
    assert ticket.assignee is not None
    fix = process_fix_create(
        actor=ticket.assignee,
        title="Idempotent charges",
        root_cause="A retried payment charged twice.",
        failsafe_change=CHANGE,
        tickets=[ticket],
    )
    for status in statuses:
        fix = process_fix_set_status(fix=fix, actor=ticket.assignee, status=status)
    return fix


def send_all(ticket: Ticket) -> list[EmailMultiAlternatives]:
    """Every follow-up of ``ticket`` sent now, through the sweep and the batch."""
    ids = [followup.pk for followup in make_due(ticket)]
    mail.outbox.clear()
    followups_claim_due()
    assert deliver_outbox(source=SOURCE).sent == [item_for(SOURCE, pk).pk for pk in ids]
    return sent_emails()


def both_bodies(email: EmailMultiAlternatives) -> list[str]:
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return [str(email.body), str(html)]


@pytest.mark.parametrize(
    "statuses",
    [(), ("in_progress",), ("dropped",), ("in_progress", "dropped")],
    ids=["proposed", "in progress", "dropped", "dropped while in progress"],
)
def test_a_fix_not_done_is_never_told_to_the_customer(statuses: tuple[str, ...]) -> None:
    ticket = rebuilding_mishap()
    fix_for(ticket, *statuses)

    emails = send_all(ticket)

    assert len(emails) == 3
    for email in emails:
        for body in both_bodies(email):
            assert "idempotency key" not in body
            assert "changed how we work" not in body


def test_a_done_fix_is_told_with_the_day_it_was_done_in_the_customers_zone() -> None:
    ticket = rebuilding_mishap("Asia/Tokyo")
    # 23:30 on 30 November in UTC is already 1 December in Tokyo.
    with time_machine.travel(datetime(2026, 11, 30, 23, 30, tzinfo=UTC), tick=False):
        fix_for(ticket, "in_progress", "done")

    day_1, day_7, day_30 = send_all(ticket)

    assert "idempotency key" not in day_1.body  # the day-1 check-in tells no fixes
    for email in (day_7, day_30):
        for body in both_bodies(email):
            assert "We have also changed how we work" in body
            assert f"{CHANGE} (done on December 1, 2026)" in body
            assert "30 November" not in body


def test_a_fix_dropped_after_the_follow_ups_were_scheduled_is_not_told() -> None:
    ticket = rebuilding_mishap()
    fix = fix_for(ticket, "in_progress")
    assert ticket.followups.count() == 3  # scheduled while the fix was under way
    process_fix_set_status(fix=fix, actor=assignee_of(ticket), status="dropped")

    emails = send_all(ticket)

    assert all("idempotency key" not in body for e in emails for body in both_bodies(e))
