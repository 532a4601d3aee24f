"""The ticket page's actions: a transition's step form (with its preview),
a reply or note, an edit, making a question a mishap, a restitution, and
opening a new ticket. Each POST calls one service; the page adds no rule of
its own."""

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from accounts.models import User
from console import forms as console_forms
from console import started_from as started
from console.access import signed_in
from console.presence import stale_refusal
from console.previews import allow_preview_styles
from console.selectors import queues_for_filing
from console.steps import STEP_LABELS
from console.ticket_page import TicketPage
from recovery.selectors.grant_room import grant_room
from recovery.services import restitution_grant
from tickets import services, workflow
from tickets.models import Ticket
from tickets.previews import reply_preview, step_preview
from tickets.services.lifecycle import STEPS_WITH_MESSAGE

STEP_SERVICES: dict[str, Callable[..., Ticket]] = {
    "acknowledge": services.ticket_acknowledge,
    "apologize": services.ticket_apologize,
    "commit": services.ticket_commit,
    "resolve": services.ticket_resolve,
    "close": services.ticket_close,
    "restore": services.ticket_restore,
    "reopen": services.ticket_reopen,
}


class TicketSteps(TicketPage):
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
                lambda: (
                    services.ticket_create(
                        actor=user,
                        unassigned=form.cleaned_data["assignee"] is None,
                        **form.cleaned_data,
                    ).ticket
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
