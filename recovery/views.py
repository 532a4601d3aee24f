"""The customer's public pages: rate us, and unsubscribe. No login: the
signed link is the credential. A bad link changes nothing and says so."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.errors import RuleViolation
from recovery.services.followups import (
    FEEDBACK_SALT,
    UNSUBSCRIBE_SALT,
    AlreadyRated,
    LinkExpired,
    LinkInvalid,
    customer_unsubscribe,
    feedback_record,
    followup_from_link,
)

RATINGS = (
    (5, "Very well"),
    (4, "Well"),
    (3, "Neither well nor badly"),
    (2, "Badly"),
    (1, "Very badly"),
)


def _bad_link(request: HttpRequest, *, expired: bool) -> HttpResponse:
    return render(
        request,
        "public/link_problem.html",
        {"expired": expired},
        status=410 if expired else 400,
    )


@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    try:
        followup = followup_from_link(token, salt=FEEDBACK_SALT)
    except (LinkInvalid, LinkExpired) as exc:
        return _bad_link(request, expired=isinstance(exc, LinkExpired))
    context = {"followup": followup, "customer": followup.customer, "ratings": RATINGS}
    if hasattr(followup, "feedback"):
        return render(request, "public/feedback_thanks.html", {**context, "again": True})
    if request.method == "GET":
        return render(request, "public/feedback.html", context)
    try:
        rating = int(request.POST.get("rating", ""))
    except ValueError:
        rating = 0
    try:
        feedback_record(followup=followup, rating=rating, comment=request.POST.get("comment", ""))
    except RuleViolation as exc:
        return render(
            request,
            "public/feedback.html",
            {**context, "error": exc.detail, "comment": request.POST.get("comment", "")},
            status=400,
        )
    except AlreadyRated:
        return render(request, "public/feedback_thanks.html", {**context, "again": True})
    return render(request, "public/feedback_thanks.html", context)


# Mail providers POST here without a session or a CSRF token (RFC 8058).
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        followup = followup_from_link(token, salt=UNSUBSCRIBE_SALT)
    except (LinkInvalid, LinkExpired) as exc:
        return _bad_link(request, expired=isinstance(exc, LinkExpired))
    if request.method == "GET":
        # A link checker or a preview must not unsubscribe anyone: GET only asks.
        return render(request, "public/unsubscribe.html", {"customer": followup.customer})
    customer_unsubscribe(followup=followup)
    return render(request, "public/unsubscribed.html", {"customer": followup.customer})
