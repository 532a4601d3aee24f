"""Who else has a ticket open, and what landed on it while one was writing.

The ticket page beats every 20 seconds or so (``presence.js``); each beat
records the viewer in the cache for PRESENCE_SECONDS and answers with the
others there (and whether they are writing) and what others did since the
page was drawn. A step submitted on a page that others changed meanwhile
is refused in words that say who did what, when, with their text."""

import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.http import require_POST

from console.access import signed_in
from tickets.emails import staff_name
from tickets.models import Message, Ticket, TicketEvent
from tickets.selectors import tickets_visible_to

PRESENCE_SECONDS = 45
_ID = re.compile(r"[0-9]{1,18}")

# What another person's event says, after their name.
DID = {
    "acknowledge": "acknowledged this",
    "apologize": "apologized to the customer",
    "commit": "made a promise",
    "resolve": "resolved this",
    "close": "closed this",
    "restore": "ended the rebuilding period",
    "reopen": "reopened this",
    "replied": "replied to the customer",
    "noted": "added an internal note",
    "restitution_granted": "granted a restitution",
    "restitution_requested": "asked approval for a restitution",
    "restitution_approved": "approved a restitution",
    "restitution_rejected": "rejected a restitution",
    "restitution_voided": "voided a restitution",
    "updated": "changed who or how urgent",
    "converted_to_mishap": "made this a mishap",
}


def _key(ticket_id: int) -> str:
    return f"console:presence:{ticket_id}"


def beat(*, ticket_id: int, user_id: int, name: str, writing: bool) -> list[dict[str, Any]]:
    """Record the viewer; the others seen within PRESENCE_SECONDS. A race
    between two beats can drop one entry until its next beat: harmless."""
    now = timezone.now().timestamp()
    seen = {
        int(pk): entry
        for pk, entry in (cache.get(_key(ticket_id)) or {}).items()
        if now - entry["at"] < PRESENCE_SECONDS
    }
    seen[user_id] = {"name": name, "writing": writing, "at": now}
    cache.set(_key(ticket_id), seen, PRESENCE_SECONDS)
    return [
        {"name": entry["name"], "writing": entry["writing"]}
        for pk, entry in sorted(seen.items())
        if pk != user_id
    ]


def heartbeat_seconds() -> float:
    """How often a ticket page beats (HELPDESK_PRESENCE_HEARTBEAT_SECONDS, 20)."""
    return float(settings.HELPDESK_PRESENCE_HEARTBEAT_SECONDS)


def latest_event_id(ticket: Ticket) -> int:
    """The newest event the page shows (the page's events are prefetched)."""
    return max((event.pk for event in ticket.events.all()), default=0)


def changes_since(ticket: Ticket, since: int, *, viewer_id: int) -> list[dict[str, str]]:
    """What others (staff, the customer, the system) did after event ``since``."""
    events = list(
        TicketEvent.objects.filter(ticket=ticket, pk__gt=since)
        .exclude(actor_id=viewer_id)
        .select_related("actor")
        .order_by("id")
    )
    # A reply's or a note's event names its message by id; a step's carries its words.
    ids = [
        e.payload["message"] for e in events if isinstance((e.payload or {}).get("message"), int)
    ]
    bodies = dict(Message.objects.filter(pk__in=ids).values_list("pk", "body")) if ids else {}
    now = timezone.now()
    changes = []
    for event in events:
        if event.actor is None:
            who, did = (
                ("The customer", "wrote")
                if event.action == "customer_replied"
                else ("The desk", DID.get(event.action, "changed this"))
            )
        else:
            who, did = staff_name(event.actor), DID.get(event.action, "changed this")
        ago = (
            "just now"
            if now - event.created_at < timedelta(minutes=1)
            else (f"{timesince(event.created_at, now).split(',')[0]} ago")
        )
        said = (event.payload or {}).get("message")
        text = said if isinstance(said, str) else bodies.get(said, "") if said else ""
        changes.append({"said": f"{who} {did} {ago}", "text": text, "action": event.action})
    return changes


def stale_refusal(ticket: Ticket, seen: str | None, *, viewer_id: int) -> str | None:
    """Why a form sent from a page others changed meanwhile cannot go: who did
    what and when, with their text. None when nothing changed since ``seen``."""
    if not seen or not _ID.fullmatch(seen):
        return None
    steps = [c for c in changes_since(ticket, int(seen), viewer_id=viewer_id) if c["action"] in DID]
    if not steps:
        return None
    last = steps[-1]
    quoted = f": “{' '.join(last['text'].split())[:300]}”" if last["text"] else ""
    return f"{last['said']}{quoted}. Reload the ticket to see where it stands."


@require_POST
def presence_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = signed_in(request)
    ticket = tickets_visible_to(user).filter(pk=pk).first()
    if ticket is None:
        raise Http404("No ticket with that number that you can see.")
    since = request.POST.get("since", "")
    others = beat(
        ticket_id=ticket.pk,
        user_id=user.pk,
        name=staff_name(user),
        writing=request.POST.get("writing") == "1",
    )
    changes = changes_since(ticket, int(since), viewer_id=user.pk) if _ID.fullmatch(since) else []
    return JsonResponse({"others": others, "changes": changes})


def urls(site: Any) -> list[Any]:
    return [
        path(
            "tickets/ticket/<int:pk>/presence/",
            site.admin_view(presence_view),
            name="ticket_presence",
        )
    ]
