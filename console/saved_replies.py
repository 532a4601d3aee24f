"""Saved replies in the console: supervisors write, edit and retire them
(each through its service); everyone with a role sees the list and how
often each was used."""

from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from console.access import require
from console.forms import TEXTAREA, apply_service
from console.sites import console_site
from core.forms import ListedModelChoiceField
from tickets.models import Queue, ReplyStep, SavedReply
from tickets.selectors import PLACEHOLDERS
from tickets.services.saved_replies import (
    MANAGE,
    saved_reply_create,
    saved_reply_retire,
    saved_reply_update,
)

VIEW = "tickets.view_savedreply"


class SavedReplyForm(forms.Form):
    title = forms.CharField(max_length=100)
    step = forms.ChoiceField(choices=ReplyStep.choices)
    queue = ListedModelChoiceField(
        queryset=Queue.objects.order_by("name"), required=False, empty_label="Every queue"
    )
    body = forms.CharField(
        widget=TEXTAREA,
        label="Text",
        help_text="Placeholders: "
        + "; ".join(f"{{{name}}} {what}" for name, what in PLACEHOLDERS.items())
        + ". Agents make it their own before it is sent.",
    )


def saved_reply_list_view(request: HttpRequest) -> HttpResponse:
    user = require(request, VIEW)
    replies = SavedReply.objects.filter(active=True).select_related("queue")
    return console_site.render(
        request,
        "console/saved_replies.html",
        {"title": "Saved replies", "replies": list(replies), "can_manage": user.has_perm(MANAGE)},
    )


def saved_reply_edit_view(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    user = require(request, MANAGE)
    reply = None
    if pk is not None:
        reply = SavedReply.objects.filter(pk=pk, active=True).first()
        if reply is None:
            raise Http404("No such saved reply.")
    initial = (
        {"title": reply.title, "step": reply.step, "queue": reply.queue, "body": reply.body}
        if reply
        else {}
    )
    form = SavedReplyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if reply is None:
            saved = apply_service(form, lambda: saved_reply_create(actor=user, **data))
        else:
            saved = apply_service(form, lambda: saved_reply_update(reply=reply, actor=user, **data))
        if saved is not None:
            messages.success(request, f"Saved “{saved.title}”.")
            return HttpResponseRedirect(reverse("console:saved_replies"))
    return console_site.render(
        request,
        "console/saved_reply_edit.html",
        {
            "title": f"Edit “{reply.title}”" if reply else "New saved reply",
            "form": form,
            "reply": reply,
        },
        status=400 if form.errors else 200,
    )


@require_POST
def saved_reply_retire_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = require(request, MANAGE)
    reply = SavedReply.objects.filter(pk=pk, active=True).first()
    if reply is None:
        raise Http404("No such saved reply.")
    saved_reply_retire(reply=reply, actor=user)
    messages.success(request, f"“{reply.title}” is no longer offered.")
    return HttpResponseRedirect(reverse("console:saved_replies"))


def urls(site: Any) -> list[Any]:
    view = site.admin_view
    return [
        path("saved-replies/", view(saved_reply_list_view), name="saved_replies"),
        path("saved-replies/new/", view(saved_reply_edit_view), name="saved_reply_add"),
        path("saved-replies/<int:pk>/", view(saved_reply_edit_view), name="saved_reply_edit"),
        path(
            "saved-replies/<int:pk>/retire/",
            view(saved_reply_retire_view),
            name="saved_reply_retire",
        ),
    ]
