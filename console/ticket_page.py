"""The console's ticket page: the conversation, the recovery panel, the
checklist of missing steps, and the forms that the step actions
(``console.ticket_steps``) post to."""

from typing import Any

from django import forms
from django.contrib import admin
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import urlencode

from cases.selectors import case_visit_of
from console import forms as console_forms
from console import started_from as started
from console.access import signed_in
from console.history import rounds
from console.navigation import notifications_read
from console.presence import heartbeat_seconds, latest_event_id
from console.selectors import (
    conversation_of,
    queues_for_filing,
    staff_to_assign,
    ticket_menus,
    ticket_page_of,
)
from console.steps import STEP_LABELS
from recovery.models import ProcessFix
from recovery.selectors.grant_room import grant_room
from recovery.services.restitutions import REPEAT_FAILURE_GUIDANCE
from recovery.trust import profile_of
from tickets import workflow
from tickets.case_links import case_url
from tickets.models import Attachment, Ticket
from tickets.selectors import tickets_visible_to
from tickets.services.notifications import notifications_mark_all_read

# Messages shown at first on the ticket page; the rest behind a link.
CONVERSATION_PAGE = 50


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


class TicketPage(admin.ModelAdmin):
    def _ticket(self, request: HttpRequest, pk: Any) -> Ticket:
        try:
            ticket = ticket_page_of(user=signed_in(request), ticket_id=int(pk))
        except (ValueError, TypeError):
            ticket = None
        if ticket is None:
            raise Http404("No ticket with that number that you can see.")
        return ticket

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
        if request.GET.get("all") == "1":
            return {"conversation": conversation_of(ticket=ticket), "earlier_messages": False}
        latest = conversation_of(ticket=ticket, latest=CONVERSATION_PAGE + 1)
        return {
            "conversation": latest[:CONVERSATION_PAGE][::-1],
            "earlier_messages": len(latest) > CONVERSATION_PAGE,
        }

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
            staff=staff_to_assign(also=ticket.assignee_id),
            queues=queues_for_filing(signed_in(request), also=ticket.queue_id),
            # Read ahead for the form shown; one sent back is checked (and
            # shown again, on an error) by the querysets above.
            listed=ticket_menus(user=signed_in(request), ticket=ticket) if data is None else None,
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
