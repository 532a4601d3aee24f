"""A message started from a saved reply: the forms carry the reply's id
(``saved_reply``, set by the picker), the text must have been made one's own
before it goes, and the use is counted once it went."""

from typing import Any

from django import forms

from accounts.models import User
from tickets.models import SavedReply, Ticket
from tickets.selectors import filled_replies, saved_replies_for
from tickets.services.saved_replies import (
    saved_reply_check_edited,
    saved_reply_record_use,
)

FIELD = "saved_reply"
# The field each form's saved reply goes into.
TEXT_FIELD = {
    "acknowledge": "message",
    "apologize": "message",
    "commit": "promise",
    "resolve": "message",
    "reply": "body",
}


class StartedFromSavedReply(forms.Form):
    saved_reply = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)


def content(form: forms.Form) -> dict[str, Any]:
    """What the service takes: the form's data less the saved reply's id."""
    return {name: value for name, value in form.cleaned_data.items() if name != FIELD}


def started_from(form: forms.Form, ticket: Ticket, step: str) -> SavedReply | None:
    """The saved reply the text started from, if it is one offered here."""
    pk = form.cleaned_data.get(FIELD)
    if not pk or step not in TEXT_FIELD:
        return None
    return saved_replies_for(ticket=ticket, step=step).filter(pk=pk).first()


def check_edited(form: forms.Form, step: str, ticket: Ticket, agent: User) -> None:
    """Raises the service's refusal when the text is the saved reply as inserted."""
    reply = started_from(form, ticket, step)
    if reply is not None:
        text = form.cleaned_data.get(TEXT_FIELD[step], "")
        saved_reply_check_edited(reply=reply, ticket=ticket, agent=agent, text=text)


def count_use(form: forms.Form, ticket: Ticket, step: str) -> None:
    reply = started_from(form, ticket, step)
    if reply is not None:
        saved_reply_record_use(reply=reply)


def picker(ticket: Ticket, agent: User, step: str) -> list[dict[str, Any]]:
    """The saved replies offered for ``step`` on ``ticket``, filled: for the
    picker's options and its JSON (``json_script``)."""
    if step not in TEXT_FIELD:
        return []
    return [
        {"id": f.reply.pk, "title": f.reply.title, "text": f.text, "field": TEXT_FIELD[step]}
        for f in filled_replies(ticket=ticket, agent=agent, step=step)
    ]
