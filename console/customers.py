"""Customers in the console: a list to find one, and a page with the whole
relationship (tickets, mishaps, ratings over time, restitutions, follow-ups)
so an agent sees it before answering. Read-only: nothing here writes."""

from dataclasses import dataclass
from typing import Any

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path

from accounts.models import Customer
from accounts.selectors import customers_with_email
from console import selectors
from console.access import require
from console.sites import console_site
from console.trust_chart import timeline_chart
from recovery.models import Feedback
from recovery.trust import profile_of
from recovery.trust.timeline import trust_events
from tickets.models import Kind
from tickets.selectors import tickets_visible_to

PER_PAGE = 25
VIEW_CUSTOMER = "accounts.view_customer"


def customer_list_view(request: HttpRequest) -> HttpResponse:
    require(request, VIEW_CUSTOMER)
    text = request.GET.get("q", "")[:200]
    page = Paginator(selectors.customers_search(text=text), PER_PAGE).get_page(request.GET.get("p"))
    return console_site.render(
        request,
        "console/customers.html",
        {"title": "Customers", "q": text, "page": page, "customers": list(page.object_list)},
    )


@dataclass(frozen=True)
class Sparkline:
    """Ratings over time as an inline SVG polyline, drawn on the server: no
    chart library, and the numbers are in the table below it as well."""

    points: str
    dots: list[tuple[float, float, int]]
    width: int = 260
    height: int = 56
    left: int = 14  # room for the scale's 1 and 5
    top: int = 6
    bottom: int = 50


def sparkline(ratings: list[Feedback]) -> Sparkline | None:
    if len(ratings) < 2:
        return None
    shape = Sparkline(points="", dots=[])
    x0, x1 = shape.left + 4, shape.width - 4
    step = (x1 - x0) / (len(ratings) - 1)
    dots = [
        (
            round(x0 + i * step, 1),
            round(shape.top + (5 - f.rating) * (shape.bottom - shape.top) / 4, 1),
            f.rating,
        )
        for i, f in enumerate(ratings)
    ]
    return Sparkline(points=" ".join(f"{x},{y}" for x, y, _ in dots), dots=dots)


def customer_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = require(request, VIEW_CUSTOMER)
    try:
        customer = selectors.customer_overview(customer_id=pk)
    except Customer.DoesNotExist:
        raise Http404("No customer with that number.") from None
    # Customers are shared, so every staff role gets the page; the tickets
    # (and the restitutions, follow-ups and ratings that belong to them) are
    # only those this viewer may see, as in the queue. The facts about the
    # relationship (rebuilding now, opted out, how many tickets in all) count
    # every ticket: an agent must know a customer is rebuilding trust even if
    # a colleague's queue holds that mishap.
    visible = tickets_visible_to(user).filter(customer=customer)
    tickets = list(selectors.customer_tickets(user=user, customer=customer))
    restitutions = list(selectors.customer_restitutions(tickets=visible))
    followups = list(selectors.customer_followups(tickets=visible))
    ratings = list(selectors.customer_ratings(tickets=visible))
    commitments = list(selectors.customer_commitments(tickets=visible))
    opt_out = getattr(customer, "followup_opt_out", None)
    trust = profile_of(customer)
    events = trust_events(
        tickets=tickets,
        commitments=commitments,
        restitutions=restitutions,
        ratings=ratings,
        opt_out=opt_out,
        now=trust.as_of,
    )
    context: dict[str, Any] = {
        "title": customer.name or customer.email,
        "customer": customer,
        "opt_out": opt_out,
        "tickets": tickets,
        "hidden_count": customer.ticket_count - len(tickets),  # type: ignore[attr-defined]
        "mishap_count": sum(1 for t in tickets if t.kind == Kind.MISHAP),
        "repeat_failures": [t for t in tickets if t.is_repeat_failure],
        "restitutions": restitutions,
        "followups": followups,
        "ratings": ratings,
        "average_rating": (
            round(sum(f.rating for f in ratings) / len(ratings), 1) if ratings else None
        ),
        "sparkline": sparkline(ratings),
        "trust": trust,
        "trust_events": events[::-1],
        "trust_chart": timeline_chart(events, now=trust.as_of),
    }
    return console_site.render(request, "console/customer.html", context)


def customer_lookup_view(request: HttpRequest) -> HttpResponse:
    """A known customer's name by their email (the new-ticket form fills it in)."""
    require(request, VIEW_CUSTOMER)
    email = request.GET.get("email", "").strip()[:254]
    customer = customers_with_email(email).first() if email else None
    if customer is None:
        return JsonResponse({"known": False})
    return JsonResponse({"known": True, "name": customer.name})


def urls(site: Any) -> list[Any]:
    return [
        path("customers/lookup/", site.admin_view(customer_lookup_view), name="customer_lookup"),
        path("customers/", site.admin_view(customer_list_view), name="customers"),
        path("customers/<int:pk>/", site.admin_view(customer_view), name="customer"),
    ]
