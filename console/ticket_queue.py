"""The console's queue of tickets: a change list whose rows show the next
step, the target, the customer's trust, with bulk actions that change each
ticket through its service."""

from typing import Any

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.db.models import Case, F, OuterRef, QuerySet, When
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html

from console.access import signed_in
from console.bulk import bulk_change
from console.queue_filters import (
    QueueFilter,
    QueueViewFilter,
    queue_views,
    search_by_reference,
    showing_work,
)
from console.steps import STEP_LABELS, next_step
from core import clock
from recovery.selectors import RESTITUTIONS_PREFETCH
from recovery.trust import is_fragile, trust_profiles
from tickets.emails import staff_name
from tickets.models import Ticket
from tickets.selectors import tickets_visible_to
from tickets.urgency import countdown, span, waiting_since, with_urgency

# The one way the console writes a moment (templates: |date:"M j, Y H:i").
MOMENT = "M j, Y H:i"


def _first_reason(reasons: list[str]) -> str:
    """A queue row is narrow: the first reason, the rest on the badge's title."""
    if not reasons:
        return ""
    more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return reasons[0] + more


class QueueChangeList(ChangeList):
    """The queue's page, each row with its customer's trust: one query for
    the page's customers, however many rows."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        rows = list(self.result_list)
        profiles = trust_profiles({row.customer_id for row in rows})
        for row in rows:
            row.customer_trust = profiles.get(row.customer_id)
        self.result_list = rows


class TicketQueue(admin.ModelAdmin):
    list_display = (
        "reference_link",
        "subject_cell",
        "customer_link",
        "status_step",
        "target_countdown",
        "waiting",
        "assignee_name",
    )
    list_display_links = None
    change_list_template = "console/queue.html"
    list_filter = (
        QueueViewFilter,
        "status",
        "kind",
        "severity",
        ("queue", QueueFilter),
    )
    search_fields = ("subject", "customer__email", "customer__name")
    search_help_text = (
        "Search by subject, customer's name or email, or a ticket's number (HD-000123 or 123)."
    )
    list_select_related = ("customer", "queue", "assignee")
    list_per_page = 25
    ordering = ("-created_at", "-id")
    show_full_result_count = False
    actions = ["bulk_assign", "bulk_move_queue", "bulk_change_severity"]

    # --- the queue -----------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[Ticket]:
        tickets = tickets_visible_to(signed_in(request), for_lists=True)
        # The next step of each row reads its commitments and what other apps
        # hold back (a pending approval): prefetched, a query each a page.
        return with_urgency(
            tickets.select_related("customer", "queue", "assignee")
        ).prefetch_related("commitments", RESTITUTIONS_PREFETCH)

    def get_ordering(self, request: HttpRequest) -> Any:
        if showing_work(request):
            # My tickets first, then my queues' unassigned; in each, the
            # missed targets first, then a fragile customer's tickets first
            # among equals; then the earliest deadline, none after, oldest first.
            user = signed_in(request)
            mine = Case(When(assignee_id=user.pk, then=0), default=1)
            missed = Case(When(due_at__lt=clock.now(), then=0), default=1)
            # Decided in the list's own query, for the rows it sorts.
            fragile = Case(When(is_fragile(OuterRef("customer_id")), then=0), default=1)
            return [
                mine,
                missed,
                fragile,
                F("due_at").asc(nulls_last=True),
                "created_at",
                "id",
            ]
        return self.ordering

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return QueueChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Ticket], search_term: str
    ) -> tuple[QuerySet[Ticket], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        return search_by_reference(queryset, search_term, found), may_have_duplicates

    def get_actions(self, request: HttpRequest) -> Any:
        actions = super().get_actions(request)
        if not request.user.has_perm("tickets.change_ticket"):
            return {}
        return actions

    @admin.display(description="Ticket", ordering="id")
    def reference_link(self, ticket: Ticket) -> str:
        url = reverse("console:tickets_ticket_change", args=[ticket.pk])
        return format_html('<a href="{}">{}</a>', url, ticket.reference)

    @admin.display(description="Subject", ordering="subject")
    def subject_cell(self, ticket: Ticket) -> str:
        kind = " · mishap" if ticket.kind == "mishap" else ""
        return format_html(
            '{}<span class="row-meta">{}{}</span>',
            ticket.subject,
            ticket.get_severity_display(),
            kind,
        )

    @admin.display(description="Customer · trust", ordering="customer__name")
    def customer_link(self, ticket: Ticket) -> str:
        url = reverse("console:customer", args=[ticket.customer_id])
        customer = ticket.customer
        link = format_html(
            '<a href="{}" title="{}">{}</a>', url, customer.email, customer.name or customer.email
        )
        trust = getattr(ticket, "customer_trust", None)
        if trust is None:
            return link
        return format_html(
            '{}<span class="trust-row"><span class="badge trust-{}" title="{}">{}</span>'
            '<span class="row-meta trust-reasons">{}</span></span>',
            link,
            trust.level,
            trust.summary,
            trust.label,
            _first_reason(trust.reasons),
        )

    @admin.display(description="Status · next step", ordering="status")
    def status_step(self, ticket: Ticket) -> str:
        badge = format_html(
            '<span class="badge status-{}">{}</span>', ticket.status, ticket.get_status_display()
        )
        step = next_step(ticket)
        if not step:
            return badge
        return format_html(
            '{} <span class="next-step">{}</span>', badge, STEP_LABELS.get(step, step)
        )

    @admin.display(description="Target", ordering="due_at")
    def target_countdown(self, ticket: Ticket) -> str:
        words = countdown(ticket, clock.now())
        if not words:
            return "—"
        late = words.endswith(" late")
        return format_html(
            '<span class="countdown{}" title="{}">{}</span>',
            " late" if late else "",
            date_format(timezone.localtime(ticket.due_at), MOMENT),  # type: ignore[attr-defined]
            words,
        )

    @admin.display(description="Waiting", ordering="last_customer_at")
    def waiting(self, ticket: Ticket) -> str:
        since = waiting_since(ticket)
        if since is None:
            return "—"
        return format_html(
            '<span title="The customer wrote at {}">{}</span>',
            date_format(timezone.localtime(since), MOMENT),
            span(clock.now() - since),
        )

    @admin.display(description="Assignee", ordering="assignee__username")
    def assignee_name(self, ticket: Ticket) -> str:
        return staff_name(ticket.assignee) or "—"

    # --- bulk actions, each ticket through the service -----------------------

    @admin.action(description="Assign the selected tickets…")
    def bulk_assign(self, request: HttpRequest, queryset: QuerySet[Ticket]) -> HttpResponse | None:
        return bulk_change(self, request, queryset, "assignee")

    @admin.action(description="Move the selected tickets to a queue…")
    def bulk_move_queue(
        self, request: HttpRequest, queryset: QuerySet[Ticket]
    ) -> HttpResponse | None:
        return bulk_change(self, request, queryset, "queue")

    @admin.action(description="Change the selected tickets' severity…")
    def bulk_change_severity(
        self, request: HttpRequest, queryset: QuerySet[Ticket]
    ) -> HttpResponse | None:
        return bulk_change(self, request, queryset, "severity")

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        user = signed_in(request)
        kept = request.GET.copy()
        kept.pop("p", None)
        context = {
            "title": "Queue",
            "queue_views": queue_views(request),
            "saved_views": list(user.saved_views.all()),
            "current_query": kept.urlencode(),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)
