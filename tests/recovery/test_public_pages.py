"""The customer's pages behind a follow-up's links: a rating in one click
(then a comment, or a change of mind), unsubscribe and its undo, each page in
the customer's language."""

import re
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.core import signing
from django.test import Client
from django.utils import timezone

from accounts.models import User
from recovery.models import Feedback, FollowUp, FollowUpOptOut
from recovery.selectors.followup_links import FEEDBACK_SALT, links_for
from recovery.services.followup_responses import customer_resubscribe, customer_unsubscribe
from tests.factories import TicketFactory, advance
from tests.helpers import link_path, unsubscribe_url
from tickets.models import Alert, Kind, Ticket
from tickets.services import ticket_reopen

pytestmark = pytest.mark.django_db


def rebuilding(**kwargs: Any) -> Ticket:
    return advance(TicketFactory(kind=Kind.MISHAP, **kwargs), to="rebuilding")


def first_followup(**kwargs: Any) -> FollowUp:
    followup = rebuilding(**kwargs).followups.first()
    assert followup is not None
    return followup


def rating_url(followup: FollowUp, rating: int) -> str:
    return link_path(dict(links_for(followup).ratings)[rating])


def html(response: Any) -> str:
    return str(response.content.decode())


def checked_rating(response: Any) -> str | None:
    found = re.search(r'name="rating" value="(\d)" required checked', html(response))
    return found.group(1) if found else None


def low_rating_alerts() -> list[str]:
    return list(
        Alert.objects.filter(kind=Alert.Kind.LOW_RATING)
        .order_by("created_at", "id")
        .values_list("detail", flat=True)
    )


def events(ticket: Ticket, action: str) -> list[dict[str, Any]]:
    return list(
        ticket.events.filter(action=action).order_by("id").values_list("payload", flat=True)
    )


# --- A rating in one click ------------------------------------------------------------------


def test_every_follow_up_has_one_signed_link_per_rating_best_first() -> None:
    followup = first_followup()

    ratings = links_for(followup).ratings

    assert [rating for rating, _ in ratings] == [5, 4, 3, 2, 1]
    assert len({url for _, url in ratings}) == 5
    for rating, url in ratings:
        token = link_path(url).removeprefix("/feedback/").strip("/")
        assert signing.loads(token, salt=FEEDBACK_SALT) == {"f": followup.pk, "r": rating}


def test_following_a_rating_link_records_it_and_offers_a_comment_box() -> None:
    followup = first_followup()

    response = Client().get(rating_url(followup, 4))

    assert response.status_code == 200
    feedback = Feedback.objects.get()
    assert (feedback.followup_id, feedback.rating, feedback.comment) == (followup.pk, 4, "")
    page = html(response)
    assert "We have your rating: 4 out of 5, “Well”." in page
    assert '<textarea id="comment" name="comment"' in page
    assert checked_rating(response) == "4"  # the rating can still be changed there
    assert events(followup.ticket, "feedback_received") == [
        {"rating": 4, "comment": "", "followup": followup.pk, "one_click": True}
    ]
    assert low_rating_alerts() == []
    assert response["Cache-Control"].startswith("max-age=0")


def test_a_low_rating_link_alerts_as_the_form_does(supervisor: User) -> None:
    followup = first_followup()

    Client().get(rating_url(followup, 1))

    alert = Alert.objects.get(kind=Alert.Kind.LOW_RATING)
    assert set(alert.recipients.all()) == {followup.ticket.assignee, supervisor}
    assert "rated us 1 out of 5" in alert.detail


def test_a_second_click_records_nothing_more_and_states_the_recorded_rating() -> None:
    followup = first_followup()
    client = Client()
    client.get(rating_url(followup, 5))

    again = client.get(rating_url(followup, 5))
    other = client.get(rating_url(followup, 2))  # a scanner took the first link, say

    assert Feedback.objects.get().rating == 5
    assert len(events(followup.ticket, "feedback_received")) == 1
    assert low_rating_alerts() == []
    assert "We already have your answer to this message: 5 out of 5, “Very well”." in html(again)
    assert "You chose" not in html(again)
    assert "You chose 2 out of 5, “Badly”, but we already had the answer above" in html(other)
    assert checked_rating(other) == "2"  # ready to send, if that is what they meant


def test_the_later_explicit_choice_wins_and_is_an_event() -> None:
    followup = first_followup()
    client = Client()
    client.get(rating_url(followup, 5))  # a mail scanner, before the customer

    response = client.post(rating_url(followup, 2), {"revise": "1", "rating": "3", "comment": ""})

    assert response.status_code == 200
    assert "Your changes are saved. Your rating: 3 out of 5" in html(response)
    assert Feedback.objects.get().rating == 3
    assert events(followup.ticket, "feedback_rating_changed") == [
        {"followup": followup.pk, "from": 5, "to": 3}
    ]
    assert events(followup.ticket, "feedback_commented") == []
    assert low_rating_alerts() == []


def test_a_rating_changed_to_low_alerts_with_the_words() -> None:
    followup = first_followup()
    client = Client()
    client.get(rating_url(followup, 4))

    client.post(rating_url(followup, 4), {"revise": "1", "rating": "1", "comment": "Broken again."})

    [alert] = low_rating_alerts()
    assert "changed their rating from 4 to 1 out of 5" in alert
    assert "“Broken again.”" in alert


def test_a_low_rating_taken_back_tells_those_alerted() -> None:
    followup = first_followup()
    client = Client()
    client.get(rating_url(followup, 1))  # alerted

    client.post(rating_url(followup, 1), {"revise": "1", "rating": "5", "comment": ""})
    client.post(rating_url(followup, 1), {"revise": "1", "rating": "5", "comment": ""})

    [first] = low_rating_alerts()
    assert "rated us 1 out of 5" in first
    # Good news under its own kind (the same choice twice: one notice).
    [taken_back] = Alert.objects.filter(kind=Alert.Kind.RATING_RAISED).values_list(
        "detail", flat=True
    )
    assert "changed their rating from 1 to 5 out of 5" in taken_back
    assert "the low rating no longer stands" in taken_back
    assert Feedback.objects.get().rating == 5


def test_from_one_low_rating_to_another_no_second_alert() -> None:
    followup = first_followup()
    client = Client()
    client.get(rating_url(followup, 1))

    client.post(rating_url(followup, 1), {"revise": "1", "rating": "2", "comment": ""})

    assert len(low_rating_alerts()) == 1
    assert events(followup.ticket, "feedback_rating_changed") == [
        {"followup": followup.pk, "from": 1, "to": 2}
    ]


def test_a_comment_is_saved_and_an_event() -> None:
    followup = first_followup()
    client = Client()
    client.get(rating_url(followup, 5))

    response = client.post(
        rating_url(followup, 5), {"revise": "1", "rating": "5", "comment": "  All good now.  "}
    )

    assert response.status_code == 200
    assert Feedback.objects.get().comment == "All good now."
    assert "All good now.</textarea>" in html(response)  # there to edit
    assert events(followup.ticket, "feedback_commented") == [
        {"followup": followup.pk, "rating": 5, "comment": "All good now."}
    ]
    assert events(followup.ticket, "feedback_rating_changed") == []
    assert low_rating_alerts() == []  # a good rating's comment is read in the history


def test_a_comment_on_a_low_rating_reaches_those_alerted() -> None:
    followup = first_followup()
    client = Client()
    client.get(rating_url(followup, 2))

    client.post(
        rating_url(followup, 2), {"revise": "1", "rating": "2", "comment": "Still charged twice."}
    )

    first, words = low_rating_alerts()
    assert "rated us 2 out of 5" in first
    assert "who rated us 2 out of 5 after follow-up 1, wrote: “Still charged twice.”" in words


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"rating": "9"}, "Choose a rating from 1 to 5."),
        ({"rating": "four"}, "Choose a rating from 1 to 5."),
        ({"rating": ""}, "Choose a rating from 1 to 5."),
        ({"rating": "3", "comment": "x" * 5_001}, "longer than 5000 characters"),
        ({"rating": "3", "comment": "hi\x00there"}, "null character"),
    ],
)
def test_bad_input_on_the_thank_you_page_is_refused_and_changes_nothing(
    data: dict[str, str], error: str
) -> None:
    followup = first_followup()
    client = Client()
    client.get(rating_url(followup, 4))
    before = followup.ticket.events.count()

    response = client.post(rating_url(followup, 4), {"revise": "1", **data})

    assert response.status_code == 400
    assert error in html(response)
    assert '<textarea id="comment" name="comment"' in html(response)  # the form again
    feedback = Feedback.objects.get()
    assert (feedback.rating, feedback.comment) == (4, "")
    assert followup.ticket.events.count() == before
    assert low_rating_alerts() == []


def test_the_chooser_link_of_emails_already_sent_still_works() -> None:
    followup = first_followup()
    old_link = "/feedback/{}/".format(
        signing.dumps({"f": followup.pk}, salt=FEEDBACK_SALT, compress=True)
    )
    client = Client()

    chooser = client.get(old_link)
    assert "Since we put things right, how have we done?" in html(chooser)
    assert checked_rating(chooser) is None
    assert not Feedback.objects.exists()

    sent = client.post(old_link, {"rating": "3", "comment": "Fine."})
    assert "Your answer has reached the people who helped you." in html(sent)
    assert Feedback.objects.values_list("rating", "comment").get() == (3, "Fine.")

    reopened = client.get(old_link)
    assert "We already have your answer to this message: 3 out of 5" in html(reopened)
    assert checked_rating(reopened) == "3"


@pytest.mark.parametrize(
    "payload",
    [
        {"f": None, "r": 5},
        {"r": 0},
        {"r": 6},
        {"r": "5"},
        {"r": True},
        {"r": 4.0},
        {"r": [5]},
        {"r": 5, "x": 1},
    ],
)
def test_a_rating_link_of_the_wrong_shape_is_the_link_problem_page(payload: dict[str, Any]) -> None:
    followup = first_followup()
    token = signing.dumps({"f": followup.pk, **payload}, salt=FEEDBACK_SALT, compress=True)

    response = Client().get(f"/feedback/{token}/")

    assert response.status_code == 400
    assert "This link is not valid" in html(response)
    assert not Feedback.objects.exists()


def test_an_expired_rating_link_records_nothing() -> None:
    url = rating_url(first_followup(), 5)

    with time_machine.travel(timezone.now() + timedelta(days=61)):
        response = Client().get(url)

    assert response.status_code == 410
    assert not Feedback.objects.exists()


# --- Unsubscribe, and its undo ------------------------------------------------------------


def csrf_token(response: Any) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html(response))
    assert found is not None
    return found.group(1)


def test_the_unsubscribe_link_opened_again_says_it_is_done_and_offers_to_undo() -> None:
    url = unsubscribe_url(first_followup())
    client = Client(enforce_csrf_checks=True)
    client.post(url, {"List-Unsubscribe": "One-Click"})  # no CSRF token: RFC 8058

    first = client.get(url)
    second = client.get(url)

    for response in (first, second):
        assert response.status_code == 200
        assert "You are unsubscribed" in html(response)
        assert "Stop our follow-up emails?" not in html(response)
        assert f'action="{url}undo/"' in html(response)
        assert "Undo: send me follow-ups again" in html(response)
        assert csrf_token(response)
    assert FollowUpOptOut.objects.count() == 1


def test_the_undo_is_refused_without_the_pages_csrf_token() -> None:
    followup = first_followup()
    customer_unsubscribe(followup=followup)

    response = Client(enforce_csrf_checks=True).post(f"{unsubscribe_url(followup)}undo/")

    assert response.status_code == 403
    assert FollowUpOptOut.objects.exists()
    assert set(followup.ticket.followups.values_list("status", flat=True)) == {"cancelled"}


def test_undo_brings_back_the_follow_ups_still_to_come_and_offers_to_unsubscribe_again() -> None:
    ticket = rebuilding()
    day_1, day_7, day_30 = ticket.followups.order_by("due_at")
    url = unsubscribe_url(day_1)
    client = Client(enforce_csrf_checks=True)
    client.post(url, {"List-Unsubscribe": "One-Click"})
    page = client.get(url)

    # Undone a few days later: day 1's moment has passed.
    with time_machine.travel(day_1.due_at + timedelta(days=2)):
        response = client.post(f"{url}undo/", {"csrfmiddlewaretoken": csrf_token(page)})

    assert response.status_code == 200
    page_text = html(response)
    assert "Follow-up emails are back on" in page_text
    assert "the 2 check-ins still to come will be sent as planned" in page_text
    assert f'action="{url}"' in page_text
    assert "Stop follow-up emails" in page_text
    assert not FollowUpOptOut.objects.exists()
    statuses = dict(ticket.followups.values_list("pk", "status"))
    assert statuses == {day_1.pk: "cancelled", day_7.pk: "scheduled", day_30.pk: "scheduled"}
    day_7.refresh_from_db()
    assert (day_7.cancelled_at, day_7.cancel_reason) == (None, "")
    assert events(ticket, "customer_resubscribed") == [{"rescheduled": 2, "left_cancelled": 1}]
    # And again: the one-click unsubscribe works as the first time.
    client.post(url, {"List-Unsubscribe": "One-Click"})
    assert set(ticket.followups.values_list("status", flat=True)) == {"cancelled"}


def test_undo_restores_only_what_the_unsubscribe_cancelled_on_tickets_still_following_up() -> None:
    ticket = rebuilding()
    reopened = rebuilding(customer_email=ticket.customer.email)
    [agent_cancelled, *_] = ticket.followups.order_by("due_at")
    FollowUp.objects.filter(pk=agent_cancelled.pk).update(
        status="cancelled", cancelled_at=timezone.now(), cancel_reason="Customer asked."
    )
    customer_unsubscribe(followup=agent_cancelled)
    assert reopened.assignee is not None
    ticket_reopen(ticket=reopened, actor=reopened.assignee, reason="It broke again.")

    assert customer_resubscribe(followup=agent_cancelled) == 2
    assert customer_resubscribe(followup=agent_cancelled) == 0  # nothing left to undo

    assert list(ticket.followups.order_by("due_at").values_list("status", flat=True)) == [
        "cancelled",
        "scheduled",
        "scheduled",
    ]
    assert set(reopened.followups.values_list("status", flat=True)) == {"cancelled"}
    assert events(reopened, "customer_resubscribed") == []


def test_the_undo_address_opened_shows_where_things_stand() -> None:
    url = unsubscribe_url(first_followup())

    response = Client().get(f"{url}undo/")

    assert response.status_code == 302
    assert response["Location"] == url


# --- In the customer's language ---------------------------------------------------------


def customer_speaking(locale: str) -> FollowUp:
    followup = first_followup()
    followup.customer.locale = locale
    followup.customer.save(update_fields=["locale"])
    return followup


@pytest.mark.parametrize(("locale", "lang"), [("pt-BR", "pt-BR"), ("de-AT", "de"), ("ja", "en")])
def test_each_page_says_honestly_which_language_it_is_in(locale: str, lang: str) -> None:
    followup = customer_speaking(locale)
    links, client = links_for(followup), Client()
    rating, unsubscribe = link_path(links.ratings[0][1]), link_path(links.unsubscribe)

    pages = [
        client.get(link_path(links.feedback)),
        client.get(rating),
        client.post(rating, {"revise": "1", "rating": "9"}),
        client.get(unsubscribe),
        client.post(unsubscribe),
        client.get(unsubscribe),
        client.post(f"{unsubscribe}undo/"),
    ]

    for response in pages:
        assert response.status_code in (200, 400)
        assert f'<html lang="{lang}">' in html(response)


def test_a_bad_link_knows_no_customer_and_is_in_english() -> None:
    response = Client().get("/feedback/not-a-signed-token/")

    assert '<html lang="en">' in html(response)


def test_opting_out_and_back_in_with_nothing_pending_is_still_on_the_record() -> None:
    followup = first_followup()
    FollowUp.objects.filter(ticket=followup.ticket).update(
        status=FollowUp.Status.SENT, sent_at=timezone.now()
    )

    assert customer_unsubscribe(followup=followup) == 0
    assert customer_unsubscribe(followup=followup) == 0  # already out: nothing new to record
    assert customer_resubscribe(followup=followup) == 0

    ticket = followup.ticket
    assert events(ticket, "customer_unsubscribed") == [{"cancelled": 0}]
    assert events(ticket, "customer_resubscribed") == [{"rescheduled": 0, "left_cancelled": 0}]
    assert not FollowUpOptOut.objects.filter(customer=followup.customer).exists()
