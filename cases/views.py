"""The customer's case page and the contact form. No login: the signed link
is the credential (tickets.case_links). Every page in the customer's
language; a bad link, a bad form or too many tries changes nothing and says
so. Thin: the forms check shape, the services the rules."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases import words
from cases.forms import CaseReplyForm, ContactForm, LinkRequestForm, started_token
from cases.selectors import Case, case_for
from cases.services import (
    case_link_resend,
    case_links_request,
    case_reply,
    case_visit_record,
    contact_submit,
)
from core.errors import RuleViolation
from core.languages import current_language, speaking
from recovery.forms import RATING_LABELS, FeedbackForm
from recovery.selectors.followup_links import RATINGS
from recovery.services.followup_responses import (
    FEEDBACK_COMMENT_LIMIT,
    AlreadyRated,
    customer_resubscribe,
    customer_unsubscribe,
    feedback_record,
    feedback_revise,
)
from tickets.case_links import LinkExpired, LinkInvalid, case_from_link, case_token
from tickets.models import Attachment, Ticket
from tickets.services.customer_writes import Outcome

# What the page says after a form, by ``?done=``.
NEWS = ("reply", "new_case", "rating", "unsubscribed", "resubscribed")


CaseView = Callable[..., HttpResponseBase]


def by_case_link(view: CaseView) -> CaseView:
    """The view gets the ticket the signed link names; an expired, changed
    or cut link gets the page that says so, and the view never runs."""

    @wraps(view)
    def resolved(request: HttpRequest, token: str, **kwargs: Any) -> HttpResponseBase:
        try:
            ticket = case_from_link(token)
        except LinkExpired:
            return _link_problem(request, token=token, expired=True)
        except LinkInvalid:
            return _link_problem(request, token=token, expired=False)
        return view(request, token, ticket, **kwargs)

    return resolved


def _link_problem(request: HttpRequest, *, token: str, expired: bool) -> HttpResponse:
    """An expired link offers a fresh one to the address on file; a changed
    or cut one asks for the address (we cannot know whose it was). Neither
    says whether a ticket or an address exists."""
    with speaking(_browser_language(request)):
        context = {"expired": expired, "token": token, "form": LinkRequestForm()}
        return render(request, "cases/link_problem.html", context, status=410 if expired else 400)


def _browser_language(request: HttpRequest) -> str:
    return translation.get_language_from_request(request)


# --- The case page -------------------------------------------------------------------------


@never_cache
@require_GET
@by_case_link
def case(request: HttpRequest, token: str, ticket: Ticket) -> HttpResponse:
    # Staff trying the link they copied are not the customer opening it.
    if not request.user.is_authenticated:
        case_visit_record(ticket=ticket)
    done = request.GET.get("done", "")
    return _page(request, token, case_for(ticket), done=done if done in NEWS else "")


def _page(
    request: HttpRequest,
    token: str,
    case: Case,
    *,
    done: str = "",
    reply: CaseReplyForm | None = None,
    rating_errors: list[str] | None = None,
    status: int = 200,
) -> HttpResponse:
    ticket = case.ticket
    with speaking(ticket.customer.locale):
        context: dict[str, Any] = {
            "token": token,
            "case": case,
            "ticket": ticket,
            "customer": ticket.customer,
            "status_words": words.status_in_words(case),
            "promises": words.promises(case),
            "granted": words.granted_in_words(case),
            "messages": words.conversation(case),
            "next_followup": words.next_check_in(case),
            "fixes": words.fixes_done(case),
            "done": done,
            "reply": reply or CaseReplyForm(),
            "limits": words.attachment_limits(),
            "ratings": [(r, str(RATING_LABELS[r])) for r in RATINGS],
            "rating_errors": rating_errors or [],
            "comment_limit": FEEDBACK_COMMENT_LIMIT,
        }
        if case.feedback is not None:
            context["recorded_label"] = RATING_LABELS[case.feedback.rating]
        return render(request, "cases/case.html", context, status=status)


def _back(token: str, done: str) -> HttpResponse:
    response = redirect("case", token=token)
    response["Location"] += f"?done={done}"
    return response


@never_cache
@require_POST
@by_case_link
def reply(request: HttpRequest, token: str, ticket: Ticket) -> HttpResponse:
    form = CaseReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            written = case_reply(
                ticket=ticket,
                body=form.cleaned_data["body"],
                attachments=form.cleaned_data["attachments"],
            )
        except RuleViolation as exc:
            form.add_error(None, exc.detail)
        else:
            if written.outcome is Outcome.NEW_TICKET:  # the old case is over: the new one's page
                return _back(case_token(written.ticket), "new_case")
            return _back(token, "reply")
    with speaking(ticket.customer.locale):
        return _page(request, token, case_for(ticket), reply=form, status=400)


@never_cache
@require_POST
@by_case_link
def rate(request: HttpRequest, token: str, ticket: Ticket) -> HttpResponse:
    found = case_for(ticket)
    if found.rated_followup is None:  # nothing asked for a rating: nothing to record
        return _back(token, "")
    form = FeedbackForm(request.POST)
    with speaking(ticket.customer.locale):
        if not form.is_valid():
            errors = [str(e) for errors in form.errors.values() for e in errors]
            return _page(request, token, found, rating_errors=errors, status=400)
        rating, comment = form.cleaned_data["rating"], form.cleaned_data["comment"]
        try:
            if found.feedback is None:
                feedback_record(followup=found.rated_followup, rating=rating, comment=comment)
            else:
                feedback_revise(followup=found.rated_followup, rating=rating, comment=comment)
        except AlreadyRated:  # a rating's link was followed meanwhile: the customer's choice wins
            feedback_revise(followup=found.rated_followup, rating=rating, comment=comment)
        except RuleViolation as exc:
            return _page(request, token, found, rating_errors=[exc.detail], status=400)
    return _back(token, "rating")


@never_cache
@require_POST
@by_case_link
def follow_ups(request: HttpRequest, token: str, ticket: Ticket) -> HttpResponse:
    """Stop the follow-ups, or take them back: the same services as the
    email's unsubscribe link and its undo."""
    any_followup = ticket.followups.order_by("id").first()
    if any_followup is None:
        return _back(token, "")
    choice = request.POST.get("follow_ups")
    if choice == "stop":
        customer_unsubscribe(followup=any_followup)
        return _back(token, "unsubscribed")
    if choice == "resume":
        customer_resubscribe(followup=any_followup)
        return _back(token, "resubscribed")
    return _back(token, "")  # not a choice the page offers: nothing changes


@never_cache
@require_GET
@by_case_link
def attachment(request: HttpRequest, token: str, ticket: Ticket, pk: int) -> HttpResponseBase:
    """A file of the conversation's public messages, as a download: never
    shown inline, so a file cannot act as a page of ours."""
    found = Attachment.objects.filter(pk=pk, message__ticket=ticket, message__public=True).first()
    if found is None:
        raise Http404
    response = FileResponse(
        found.file.open("rb"),
        as_attachment=True,
        filename=found.name,
        content_type=found.content_type or "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Fresh links ---------------------------------------------------------------------------


@never_cache
@require_POST
def fresh_link(request: HttpRequest, token: str) -> HttpResponse:
    """From an expired link's page: a fresh link to the address on file."""
    try:
        ticket = case_from_link(token)
    except LinkExpired as exc:
        ticket = exc.ticket
    except LinkInvalid:
        return _link_problem(request, token=token, expired=False)
    case_link_resend(ticket=ticket)
    with speaking(ticket.customer.locale):
        return render(request, "cases/link_sent.html", {"on_file": True})


@never_cache
@require_POST
def new_link(request: HttpRequest) -> HttpResponse:
    """From a changed or cut link's page: links to every case of the address
    typed, sent to that address. The answer is the same whether or not we
    know it."""
    form = LinkRequestForm(request.POST)
    with speaking(_browser_language(request)):
        if not form.is_valid():
            context = {"expired": False, "form": form}
            return render(request, "cases/link_problem.html", context, status=400)
        case_links_request(address=form.cleaned_data["email"])
        return render(request, "cases/link_sent.html", {"on_file": False})


# --- The contact form ----------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    with speaking(_browser_language(request)) as language:
        if request.method == "GET":
            return _contact_page(request, ContactForm())
        form = ContactForm(request.POST, request.FILES)
        if not form.is_valid():
            return _contact_page(request, form, status=400)
        data = form.cleaned_data
        try:
            ticket = contact_submit(
                name=data["name"],
                email=data["email"],
                subject=data["subject"],
                body=data["body"],
                attachments=form.uploads(),
                locale=language,
                time_zone=data["time_zone"] or None,
            )
        except RuleViolation as exc:
            form.add_error(None, exc.detail)
            return _contact_page(request, form, status=400)
        return render(request, "cases/contact_sent.html", {"ticket": ticket})


def _contact_page(request: HttpRequest, form: ContactForm, status: int = 200) -> HttpResponse:
    """The form, with what was typed and what is wrong with it, and a new
    clock: a person who was too quick can send it again a moment later."""
    errors = [str(e) for errors in form.errors.values() for e in errors]
    context = {
        "form": form,
        "started": started_token(),
        "errors": errors,
        "limits": words.attachment_limits(),
        "language": current_language(),
    }
    return render(request, "cases/contact.html", context, status=status)
