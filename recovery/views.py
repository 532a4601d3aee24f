"""The customer's public pages: rate us, and unsubscribe (or undo it). No
login: the signed link is the credential. A bad link changes nothing and
says so. Each page is in the customer's language (core.languages.speaking)."""

from typing import NamedTuple

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.errors import RuleViolation
from core.languages import speaking
from recovery.forms import RATING_LABELS, FeedbackForm
from recovery.models import Feedback, FollowUp
from recovery.selectors import customer_opted_out, feedback_for
from recovery.selectors.followup_links import (
    RATINGS,
    UNSUBSCRIBE_SALT,
    FeedbackLink,
    LinkExpired,
    LinkInvalid,
    feedback_from_link,
    followup_from_link,
)
from recovery.services.followup_responses import (
    FEEDBACK_COMMENT_LIMIT,
    AlreadyRated,
    customer_resubscribe,
    customer_unsubscribe,
    feedback_record,
    feedback_revise,
)


def _bad_link(request: HttpRequest, *, expired: bool) -> HttpResponse:
    return render(
        request,
        "public/link_problem.html",
        {"expired": expired},
        status=410 if expired else 400,
    )


# --- Feedback ---------------------------------------------------------------------------


# Never cached: following a rating's link records it, and the pages show what
# is recorded now.
@never_cache
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    try:
        link = feedback_from_link(token)
    except (LinkInvalid, LinkExpired) as exc:
        return _bad_link(request, expired=isinstance(exc, LinkExpired))
    with speaking(link.followup.customer.locale):
        if request.method == "POST":
            return _feedback_sent(request, link.followup)
        return _feedback_opened(request, link)


def _feedback_opened(request: HttpRequest, link: FeedbackLink) -> HttpResponse:
    """The chooser (an email from before one-click ratings), or a rating's
    link: recorded at once, unless one is recorded already (a second click,
    another rating's link, a mail scanner that got there first), which stays
    as it is until the customer changes it on the page."""
    followup = link.followup
    recorded = feedback_for(followup)
    if recorded is None:
        if link.rating is None:
            return _chooser(request, followup)
        try:
            recorded = feedback_record(followup=followup, rating=link.rating, one_click=True)
            return _thanks(request, followup, recorded, news="recorded")
        except AlreadyRated as exc:  # another click got there first
            recorded = exc.feedback
    clicked = link.rating if link.rating != recorded.rating else None
    return _thanks(request, followup, recorded, news="again", clicked=clicked)


def _feedback_sent(request: HttpRequest, followup: FollowUp) -> HttpResponse:
    """The chooser's form records; the thank-you page's (``revise``) changes
    what is recorded: the customer's explicit choice wins. The chooser sent
    again once a rating is recorded changes nothing."""
    form = FeedbackForm(request.POST)
    recorded = feedback_for(followup)
    if not form.is_valid():
        return _typed_again(request, followup, recorded, form)
    rating, comment = form.cleaned_data["rating"], form.cleaned_data["comment"]
    try:
        if recorded is None:
            recorded = feedback_record(followup=followup, rating=rating, comment=comment)
            return _thanks(request, followup, recorded, news="sent")
        if request.POST.get("revise"):
            recorded = feedback_revise(followup=followup, rating=rating, comment=comment)
            return _thanks(request, followup, recorded, news="saved")
    except AlreadyRated as exc:  # the chooser, sent while a rating's link was followed
        recorded = exc.feedback
    except RuleViolation as exc:  # the form checks the same rules first: not expected
        form.add_error(None, exc.detail)
        return _typed_again(request, followup, recorded, form)
    return _thanks(request, followup, recorded, news="again")


def _typed_again(
    request: HttpRequest, followup: FollowUp, recorded: Feedback | None, form: FeedbackForm
) -> HttpResponse:
    """The page the form came from, with what is wrong and what was typed
    (a NUL cannot be shown): nothing was changed."""
    typed = Typed(
        errors=[str(error) for errors in form.errors.values() for error in errors],
        comment=request.POST.get("comment", "").replace("\x00", ""),
        rating=_posted_rating(request),
    )
    if recorded is None:
        return _chooser(request, followup, typed=typed)
    return _thanks(request, followup, recorded, news="again", typed=typed)


class Typed(NamedTuple):
    """What the customer sent, shown again with what is wrong with it."""

    errors: list[str]
    comment: str
    rating: int | None


def _posted_rating(request: HttpRequest) -> int | None:
    posted = request.POST.get("rating", "")
    return int(posted) if posted in {str(rating) for rating in RATINGS} else None


def _ratings() -> list[tuple[int, str]]:
    return [(rating, str(RATING_LABELS[rating])) for rating in RATINGS]


def _chooser(
    request: HttpRequest, followup: FollowUp, *, typed: Typed | None = None
) -> HttpResponse:
    context = {
        "followup": followup,
        "customer": followup.customer,
        "ratings": _ratings(),
        "comment_limit": FEEDBACK_COMMENT_LIMIT,
    }
    if typed is not None:
        context |= {"errors": typed.errors, "comment": typed.comment, "chosen": typed.rating}
    return render(request, "public/feedback.html", context, status=400 if typed else 200)


def _thanks(
    request: HttpRequest,
    followup: FollowUp,
    recorded: Feedback,
    *,
    news: str,
    clicked: int | None = None,
    typed: Typed | None = None,
) -> HttpResponse:
    """The thank-you page: what is recorded, and a form to add a comment or
    change the rating (preset to the rating just clicked, if it differs)."""
    context = {
        "followup": followup,
        "customer": followup.customer,
        "feedback": recorded,
        "recorded_label": RATING_LABELS[recorded.rating],
        "news": news,
        "clicked": clicked,
        "clicked_label": RATING_LABELS[clicked] if clicked else "",
        "ratings": _ratings(),
        "chosen": clicked or recorded.rating,
        "comment": recorded.comment,
        "comment_limit": FEEDBACK_COMMENT_LIMIT,
    }
    if typed is not None:
        context |= {
            "errors": typed.errors,
            "comment": typed.comment,
            "chosen": typed.rating or recorded.rating,
        }
    return render(request, "public/feedback_thanks.html", context, status=400 if typed else 200)


# --- Unsubscribe ------------------------------------------------------------------------


# Mail providers POST here without a session or a CSRF token (RFC 8058).
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        followup = followup_from_link(token, salt=UNSUBSCRIBE_SALT)
    except (LinkInvalid, LinkExpired) as exc:
        return _bad_link(request, expired=isinstance(exc, LinkExpired))
    context = {"customer": followup.customer, "token": token}
    with speaking(followup.customer.locale):
        if request.method == "GET":
            # A link checker or a preview must not unsubscribe anyone: GET only
            # asks, or, once done, says so and offers to undo it.
            if customer_opted_out(followup.customer_id):
                return render(request, "public/unsubscribed.html", {**context, "again": True})
            return render(request, "public/unsubscribe.html", context)
        customer_unsubscribe(followup=followup)
        return render(request, "public/unsubscribed.html", context)


# Unlike the unsubscribe it undoes, CSRF-protected: only the page's own form
# (its token in the form and the cookie) can bring the follow-ups back.
@never_cache
@require_http_methods(["GET", "POST"])
def resubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        followup = followup_from_link(token, salt=UNSUBSCRIBE_SALT)
    except (LinkInvalid, LinkExpired) as exc:
        return _bad_link(request, expired=isinstance(exc, LinkExpired))
    if request.method == "GET":  # only the form undoes: the page says where things stand
        return redirect("followup-unsubscribe", token=token)
    with speaking(followup.customer.locale):
        restored = customer_resubscribe(followup=followup)
        return render(
            request,
            "public/resubscribed.html",
            {"customer": followup.customer, "token": token, "restored": restored},
        )
