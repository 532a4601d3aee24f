"""Tickets in the console: the queue (a change list), the ticket page, the
step forms of the transitions, replies and restitutions. Each POST calls
one service; the page adds no rule of its own."""

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, OuterRef, Q, QuerySet, When
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode

from accounts.models import User
from cases.selectors import case_visit_of
from console import forms as console_forms
from console import started_from as started
from console.access import signed_in
from console.bulk import bulk_change
from console.history import rounds
from console.navigation import notifications_read
from console.presence import heartbeat_seconds, latest_event_id, stale_refusal
from console.previews import allow_preview_styles
from console.queue import (
    QueueFilter,
    QueueViewFilter,
    next_step,
    queue_views,
    search_by_reference,
    showing_work,
)
from console.selectors import queues_for_filing, ticket_page
from console.sites import console_site
from recovery.models import ProcessFix
from recovery.services import restitution_grant
from recovery.services.grant_room import grant_room
from recovery.services.restitutions import REPEAT_FAILURE_GUIDANCE
from recovery.trust import is_fragile, profile_of, trust_profiles
from tickets import hooks, services, workflow
from tickets.case_links import case_url
from tickets.emails import staff_name
from tickets.models import Attachment, Ticket
from tickets.previews import reply_preview, step_preview
from tickets.selectors import ticket_messages, tickets_visible_to
from tickets.services.lifecycle import STEPS_WITH_MESSAGE
from tickets.services.notifications import notifications_mark_all_read
from tickets.urgency import countdown, span, waiting_since, with_urgency

# The one way the console writes a moment (templates: |date:"M j, Y H:i").
MOMENT = "M j, Y H:i"
# Messages shown at first on the ticket page; the rest behind a link.
CONVERSATION_PAGE = 50

STEP_SERVICES: dict[str, Callable[..., Ticket]] = {
    "acknowledge": services.ticket_acknowledge,
    "apologize": services.ticket_apologize,
    "commit": services.ticket_commit,
    "resolve": services.ticket_resolve,
    "close": services.ticket_close,
    "restore": services.ticket_restore,
    "reopen": services.ticket_reopen,
}
STEP_LABELS = {
    "acknowledge": "Acknowledge",
    "apologize": "Apologize",
    "commit": "Commit",
    "resolve": "Resolve",
    "close": "Close",
    "restore": "End rebuilding",
    "reopen": "Reopen",
    "settle_pending_approvals": "Settle the pending approval",
}


def _repeat_guidance(ticket: Ticket) -> dict[str, Any] | None:
    """For a repeat failure, the restitution form's guidance: money alone does
    not recover it; the process fix of this ticket or the one it repeats
    does (read with the page's ticket: ``latest_process_fix``)."""
    if not ticket.is_repeat_failure:
        return None
    listing = reverse("console:process_fixes")
    fix = getattr(ticket, "latest_process_fix", None)
    references = " ".join(
        [ticket.reference] + ([ticket.repeat_of.reference] if ticket.repeat_of else [])
    )
    return {
        "text": REPEAT_FAILURE_GUIDANCE,
        "fix": (
            {
                "title": fix["title"],
                "status": ProcessFix.Status(fix["status"]).label.lower(),
                "url": f"{listing}?{urlencode({'status': fix['status']})}",
            }
            if fix
            else None
        ),
        "propose_url": f"{listing}?{urlencode({'tickets': references})}#new-fix",
    }


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


@admin.register(Ticket, site=console_site)
class TicketConsole(admin.ModelAdmin):
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
        ).prefetch_related("commitments", *hooks.detail_prefetches())

    def get_ordering(self, request: HttpRequest) -> Any:
        if showing_work(request):
            # My tickets first, then my queues' unassigned; in each, the
            # missed targets first, then a fragile customer's tickets first
            # among equals; then the earliest deadline, none after, oldest first.
            user = signed_in(request)
            mine = Case(When(assignee_id=user.pk, then=0), default=1)
            missed = Case(When(due_at__lt=timezone.now(), then=0), default=1)
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
        words = countdown(ticket, timezone.now())
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
            span(timezone.now() - since),
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("tickets.add_ticket")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("tickets.view_ticket")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # tickets are history; they close, they are never deleted

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

    # --- urls ----------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/step/<str:name>/", view(self.step_view), name="ticket_step"),
            path("<int:pk>/reply/", view(self.reply_view), name="ticket_reply"),
            path("<int:pk>/edit/", view(self.edit_view), name="ticket_edit"),
            path("<int:pk>/make-mishap/", view(self.make_mishap_view), name="ticket_make_mishap"),
            path(
                "<int:pk>/attachments/<int:attachment_id>/",
                view(self.attachment_view),
                name="ticket_attachment",
            ),
            path("<int:pk>/restitution/", view(self.restitution_view), name="ticket_restitution"),
            *super().get_urls(),
        ]

    def _ticket(self, request: HttpRequest, pk: Any) -> Ticket:
        try:
            return ticket_page(user=signed_in(request)).get(pk=int(pk))
        except (Ticket.DoesNotExist, ValueError, TypeError):
            raise Http404("No ticket with that number that you can see.") from None

    def _render(
        self, request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
    ) -> HttpResponse:
        return TemplateResponse(
            request,
            template,
            {**self.admin_site.each_context(request), "opts": self.model._meta, **context},
            status=status,
        )

    # --- the ticket page -------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        ticket = self._ticket(request, object_id)
        # Opening the ticket reads what one was told about it.
        if getattr(ticket, "unread_here", False):  # annotated by ticket_page
            user = signed_in(request)
            notifications_read(user, notifications_mark_all_read(user=user, ticket=ticket))
        return self._page(request, ticket)

    def _page(
        self,
        request: HttpRequest,
        ticket: Ticket,
        *,
        reply_form: forms.Form | None = None,
        restitution_form: forms.Form | None = None,
        edit_form: forms.Form | None = None,
        mishap_form: forms.Form | None = None,
        extra: dict[str, Any] | None = None,
        status: int = 200,
    ) -> HttpResponse:
        user = signed_in(request)
        # The steps the ticket can take now; and resolve, while it cannot yet,
        # so the agent can open it and see what comes first.
        transitions = []
        for name in workflow.TRANSITIONS:
            verdict = workflow.assess(ticket, name)
            blocked_goal = name == "resolve" and verdict.applicable and ticket.is_open
            if verdict.allowed or blocked_goal:
                transitions.append(
                    {"name": name, "label": STEP_LABELS[name], "allowed": verdict.allowed}
                )
        can_grant = ticket.kind == "mishap" and user.has_perm("recovery.add_restitution")
        room = grant_room(user, ticket) if can_grant else None
        return self._render(
            request,
            "console/ticket.html",
            {
                "title": f"{ticket.reference} {ticket.subject}",
                "ticket": ticket,
                "trust": profile_of(ticket),
                **self._conversation(request, ticket),
                "resolve_missing": [
                    {"name": step, "label": STEP_LABELS.get(step, step)}
                    for step in workflow.steps_to_resolve(ticket)
                ],
                "transitions": transitions,
                **self._rounds(ticket),
                "restitutions": list(ticket.restitutions.all()),
                "followups": list(ticket.followups.all()),
                "feedback": list(ticket.feedback.all()),
                "reply_form": reply_form or console_forms.ReplyForm(),
                "reply_saved_replies": started.picker(ticket, user, "reply"),
                "latest_event": latest_event_id(ticket),
                "heartbeat": heartbeat_seconds(),
                "case_link": case_url(ticket),
                "case_visit": case_visit_of(ticket),
                **(extra or {}),
                "restitution_form": (
                    restitution_form or console_forms.RestitutionForm(kinds=room.kinds)
                    if room
                    else None
                ),
                "room": room,
                "repeat_guidance": _repeat_guidance(ticket) if room else None,
                "edit_form": edit_form or self._edit_form(request, ticket),
                "mishap_form": (
                    mishap_form or console_forms.MakeMishapForm()
                    if ticket.kind == "question" and ticket.is_open
                    else None
                ),
            },
            status=status,
        )

    def _rounds(self, ticket: Ticket) -> dict[str, Any]:
        """The recovery panel's current round (since the last reopen) and the
        earlier ones, folded with how they ended; the history in plain words."""
        history = rounds(ticket.events.all())
        since = ticket.reopened_at
        commitments = list(ticket.commitments.all())
        return {
            "rounds": history,
            "earlier_rounds": history[:-1],
            "commitments": [c for c in commitments if since is None or c.created_at >= since],
            "earlier_commitments": [c for c in commitments if since and c.created_at < since],
        }

    def _conversation(self, request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
        """The latest messages, oldest first; all of them on request. One
        more row than shown is read to know whether earlier ones exist, so
        the page costs the same queries at 5 messages or 5,000."""
        messages = ticket_messages(ticket=ticket)
        if request.GET.get("all") == "1":
            return {"conversation": list(messages), "earlier_messages": False}
        latest = list(messages.order_by("-created_at", "-id")[: CONVERSATION_PAGE + 1])
        return {
            "conversation": latest[:CONVERSATION_PAGE][::-1],
            "earlier_messages": len(latest) > CONVERSATION_PAGE,
        }

    def step_view(self, request: HttpRequest, pk: int, name: str) -> HttpResponse:
        """A step's form. "Preview" shows the email the step would send,
        checked as the step would be, and writes nothing; the step's own
        button takes it."""
        if name not in STEP_SERVICES:
            raise Http404("No such step.")
        ticket = self._ticket(request, pk)
        form_class = console_forms.STEP_FORMS[name]
        verdict = workflow.assess(ticket, name)
        form = form_class(request.POST or None)
        can_preview = name in STEPS_WITH_MESSAGE
        previewing = can_preview and request.method == "POST" and "preview" in request.POST
        preview = None
        actor = signed_in(request)
        stale = None
        if request.method == "POST" and form.is_valid():
            if previewing:
                preview = console_forms.apply_service(
                    form,
                    lambda: step_preview(
                        ticket=ticket, actor=actor, name=name, content=started.content(form)
                    ),
                )
            else:
                call = STEP_SERVICES[name]

                def take_step() -> Ticket:
                    started.check_edited(form, name, ticket, actor)
                    return call(ticket=ticket, actor=actor, **started.content(form))

                done = console_forms.apply_service(form, take_step)
                if done is not None:
                    started.count_use(form, ticket, name)
                    messages.success(request, f"{STEP_LABELS[name]}: done.")
                    return HttpResponseRedirect(reverse("console:tickets_ticket_change", args=[pk]))
                # Refused: if others changed the ticket since this page was drawn, say so.
                stale = stale_refusal(ticket, request.POST.get("seen_event"), viewer_id=actor.pk)
        missing = getattr(form, "missing_steps", None)
        if missing is None and not verdict.allowed:
            missing = list(verdict.missing_steps)
        # The step opens on the ticket page, under the conversation it answers,
        # in place of the reply form.
        response = self._page(
            request,
            ticket,
            extra={
                "title": f"{STEP_LABELS[name]} {ticket.reference}",
                "step": {"name": name, "label": STEP_LABELS[name]},
                "form": form,
                "allowed": verdict.allowed,
                "applicable": verdict.applicable,
                "missing_steps": [
                    {"name": step, "label": STEP_LABELS.get(step, step)} for step in (missing or [])
                ],
                "can_preview": can_preview,
                "preview": preview,
                "saved_replies": started.picker(ticket, actor, name),
                "stale": stale,
            },
            status=400 if request.method == "POST" and preview is None else 200,
        )
        allow_preview_styles(response, preview)
        return response

    def _submit(
        self,
        request: HttpRequest,
        pk: int,
        *,
        form: Callable[[Ticket], forms.Form],
        act: Callable[[Ticket, User, forms.Form], object],
        page_form: str,
    ) -> HttpResponse:
        """One of the ticket page's forms: POST only, one service call (``act``,
        which also says what it did); back to the page when done, else the page
        with the form and its errors (400)."""
        if request.method != "POST":
            return HttpResponseRedirect(reverse("console:tickets_ticket_change", args=[pk]))
        ticket = self._ticket(request, pk)
        bound = form(ticket)
        if bound.is_valid():
            user = signed_in(request)
            if console_forms.apply_service(bound, lambda: act(ticket, user, bound)) is not None:
                return HttpResponseRedirect(reverse("console:tickets_ticket_change", args=[pk]))
        # Only the form-typed keywords of _page are named by page_form.
        page_forms = cast(dict[str, Any], {page_form: bound})
        return self._page(request, ticket, status=400, **page_forms)

    def reply_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if request.method == "POST" and "preview" in request.POST:
            return self._reply_preview(request, pk)
        public = "note" not in request.POST

        def act(ticket: Ticket, user: User, form: forms.Form) -> object:
            if public:
                started.check_edited(form, "reply", ticket, user)
            sent = services.message_create(
                ticket=ticket, actor=user, public=public, **started.content(form)
            )
            if public:
                started.count_use(form, ticket, "reply")
            messages.success(request, "Reply sent." if public else "Note added.")
            return sent

        return self._submit(
            request,
            pk,
            form=lambda ticket: console_forms.ReplyForm(request.POST, request.FILES),
            act=act,
            page_form="reply_form",
        )

    def _reply_preview(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The ticket page with the reply as typed and the email it would
        send; nothing written. Chosen files cannot be kept by a browser: the
        preview names them, to be chosen again."""
        ticket = self._ticket(request, pk)
        form = console_forms.ReplyForm(request.POST, request.FILES)
        preview = None
        if form.is_valid():
            user = signed_in(request)
            body = form.cleaned_data["body"]
            preview = console_forms.apply_service(
                form, lambda: reply_preview(ticket=ticket, actor=user, body=body)
            )
        response = self._page(
            request,
            ticket,
            reply_form=form,
            extra={
                "preview": preview,
                "dropped_files": [f.name for f in request.FILES.getlist("attachments")],
            },
            status=200 if preview is not None else 400,
        )
        allow_preview_styles(response, preview)
        return response

    def edit_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        def act(ticket: Ticket, user: User, form: forms.Form) -> object:
            changes = {name: form.cleaned_data[name] for name in form.changed_data}
            updated = services.ticket_update(ticket=ticket, actor=user, **changes)
            messages.success(request, "Saved." if changes else "Nothing changed.")
            return updated

        return self._submit(
            request,
            pk,
            form=lambda ticket: self._edit_form(request, ticket, request.POST),
            act=act,
            page_form="edit_form",
        )

    def make_mishap_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        def act(ticket: Ticket, user: User, form: forms.Form) -> object:
            converted = services.ticket_convert_to_mishap(
                ticket=ticket,
                actor=user,
                our_part=form.cleaned_data["our_part"],
                severity=form.cleaned_data["severity"] or None,
            )
            messages.success(request, "Now a mishap: the recovery steps apply.")
            return converted

        return self._submit(
            request,
            pk,
            form=lambda ticket: console_forms.MakeMishapForm(request.POST),
            act=act,
            page_form="mishap_form",
        )

    def restitution_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        def act(ticket: Ticket, user: User, form: forms.Form) -> object:
            room = grant_room(user, ticket)  # before the grant: what was left, and why
            done = restitution_grant(ticket=ticket, actor=user, **form.cleaned_data)
            if done.status == done.Status.PENDING_APPROVAL:
                over = room.why_above(done.approval.limits_exceeded, done.amount)
                messages.warning(request, f"{over}. It waits for a supervisor's approval.")
            else:
                messages.success(request, f"Granted: {done.amount} {done.currency}.")
            return done

        return self._submit(
            request,
            pk,
            form=lambda ticket: console_forms.RestitutionForm(
                request.POST, kinds=grant_room(signed_in(request), ticket).kinds
            ),
            act=act,
            page_form="restitution_form",
        )

    def _edit_form(
        self, request: HttpRequest, ticket: Ticket, data: Any = None
    ) -> console_forms.TicketEditForm:
        return console_forms.TicketEditForm(
            data,
            initial={
                "assignee": ticket.assignee_id,
                "queue": ticket.queue_id,
                "severity": ticket.severity,
            },
            # The ticket's own assignee and queue are choices even when the
            # user could not pick them, so saving other fields keeps them.
            staff=User.objects.filter(
                Q(is_active=True, is_staff=True) | Q(pk=ticket.assignee_id)
            ).order_by("username"),
            queues=queues_for_filing(signed_in(request), also=ticket.queue_id),
        )

    def attachment_view(self, request: HttpRequest, pk: int, attachment_id: int) -> FileResponse:
        """A file of a ticket the user may see, always as a download: served
        inline, an HTML or SVG upload could run script in the console."""
        ticket = get_object_or_404(tickets_visible_to(signed_in(request)), pk=pk)
        attachment = get_object_or_404(Attachment, pk=attachment_id, message__ticket=ticket)
        response = FileResponse(
            attachment.file.open("rb"), as_attachment=True, filename=attachment.name
        )
        response["Content-Type"] = "application/octet-stream"
        response["X-Content-Type-Options"] = "nosniff"
        return response

    # --- a new ticket ------------------------------------------------------------

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        user = signed_in(request)
        form = console_forms.TicketCreateForm(
            request.POST or None,
            queues=queues_for_filing(user),
            staff=User.objects.filter(is_active=True, is_staff=True).order_by("username"),
            opener=user,
        )
        if request.method == "POST" and form.is_valid():
            ticket = console_forms.apply_service(
                form,
                lambda: services.ticket_create(
                    actor=user,
                    unassigned=form.cleaned_data["assignee"] is None,
                    **form.cleaned_data,
                ),
            )
            if ticket is not None:
                messages.success(request, f"{ticket.reference} opened.")
                return HttpResponseRedirect(
                    reverse("console:tickets_ticket_change", args=[ticket.pk])
                )
        return self._render(
            request,
            "console/ticket_add.html",
            {"title": "New ticket", "form": form},
            status=400 if request.method == "POST" else 200,
        )
