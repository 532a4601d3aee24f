"""A ticket's history as people read it: each event in plain words ("Restitution
granted: gift 25.00 USD, by Alex"), and split in rounds at each reopen, so the
recovery panel shows the current round and folds the earlier ones with how
they ended."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from accounts.models import User
from recovery.models import RestitutionKind
from tickets.emails import staff_name
from tickets.models import Channel, Kind, Queue, Severity, TicketEvent

STEPS_DONE = {
    "acknowledge": "Acknowledged",
    "apologize": "Apologized",
    "commit": "Promise made",
    "resolve": "Resolved",
    "close": "Closed",
    "restore": "Rebuilding ended",
}
_TARGETS = {"acknowledge": "Acknowledgement", "apologize": "Apology"}


def _quote(text: object, limit: int = 200) -> str:
    words = " ".join(str(text or "").split())
    return f"“{words if len(words) <= limit else words[: limit - 1] + '…'}”"


def _kind(value: object) -> str:
    try:
        return str(RestitutionKind(str(value)).label).lower()
    except ValueError:
        return str(value)


def _money(payload: dict[str, Any]) -> str:
    return f"{_kind(payload.get('kind'))} {payload.get('amount')} {payload.get('currency')}"


@dataclass
class Names:
    """Who the events name by id (an assignee, a queue), read in one query each."""

    users: dict[int, str] = field(default_factory=dict)
    queues: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, events: Iterable[TicketEvent]) -> "Names":
        user_ids: set[int] = set()
        queue_ids: set[int] = set()
        for event in events:
            if event.action == "updated":
                user_ids.update(
                    i for i in event.payload.get("assignee") or () if isinstance(i, int)
                )
                queue_ids.update(i for i in event.payload.get("queue") or () if isinstance(i, int))
        users = (
            {u.pk: staff_name(u) for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
        )
        queues = (
            dict(Queue.objects.filter(pk__in=queue_ids).values_list("pk", "name"))
            if queue_ids
            else {}
        )
        return cls(users, queues)


def _updated(payload: dict[str, Any], names: Names) -> str:
    parts = []
    for name, (old, new) in payload.items():
        if name == "assignee":
            parts.append(f"assigned to {names.users.get(new, 'someone')}" if new else "unassigned")
        elif name == "queue":
            parts.append(
                f"moved to {names.queues.get(new, 'another queue')}"
                if new
                else "taken out of its queue"
            )
        elif name == "severity":
            parts.append(f"severity {Severity(old).label.lower()} → {Severity(new).label.lower()}")
        elif name == "channel":
            parts.append(f"channel {Channel(new).label.lower()}")
        elif name == "subject":
            parts.append(f"subject now {_quote(new, 80)}")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] if text else "Details changed"


_WROTE_AGAIN = "The customer wrote again: "


def _reopened(payload: dict[str, Any]) -> str:
    """Why it was reopened: the customer's words, or the agent's reason."""
    reason = str(payload.get("reason") or "")
    if payload.get("by_customer"):
        said = reason.removeprefix(_WROTE_AGAIN)
        return (
            f"Reopened by the customer, who wrote: {_quote(said)}"
            if said
            else "Reopened by the customer"
        )
    return f"Reopened: {_quote(reason)}" if reason else "Reopened"


def sentence(event: TicketEvent, names: Names) -> str:
    """One event in plain words, with who did it."""
    p = event.payload or {}
    by = f", by {staff_name(event.actor)}" if event.actor else ""
    texts: dict[str, Callable[[], str]] = {
        "created": lambda: (
            f"Opened as a {Kind(p.get('kind', 'question')).label.lower()}"
            + (f" ({Severity(p['severity']).label.lower()})" if p.get("severity") else "")
        ),
        "acknowledge": lambda: "Acknowledged",
        "apologize": lambda: "Apologized",
        "commit": lambda: "Promise made",
        "resolve": lambda: "Resolved",
        "close": lambda: "Closed" + (f": {_quote(p['reason'])}" if p.get("reason") else ""),
        "restore": lambda: (
            "Rebuilding ended" + (f": {_quote(p['reason'])}" if p.get("reason") else "")
        ),
        "reopen": lambda: _reopened(p),
        "replied": lambda: "Replied to the customer",
        "noted": lambda: "Internal note added",
        "customer_replied": lambda: (
            "The customer wrote" + (" on their case page" if p.get("via") == "case_page" else "")
        ),
        "case_link_sent": lambda: "A fresh link to the case page was emailed to the customer",
        "updated": lambda: _updated(p, names),
        "converted_to_mishap": lambda: "Made a mishap: our failure",
        "flagged_repeat_failure": lambda: "Flagged as a repeat failure",
        "target_missed": lambda: f"{_TARGETS.get(p.get('step', ''), 'A')} target missed",
        "restitution_granted": lambda: f"Restitution granted: {_money(p)}",
        "restitution_requested": lambda: f"Restitution asked for approval: {_money(p)}",
        "restitution_approved": lambda: f"Restitution approved: {_money(p)}",
        "restitution_rejected": lambda: (
            f"Restitution rejected: {_money(p)}"
            + (f" ({_quote(p['reason'])})" if p.get("reason") else "")
        ),
        "restitution_voided": lambda: f"Restitution voided: {_money(p)}",
        "followups_scheduled": lambda: "Follow-ups planned",
        "followups_cancelled": lambda: "Follow-ups cancelled",
        "followup_cancelled": lambda: "A follow-up cancelled",
        "followups_skipped": lambda: "No follow-ups planned",
        "followup_failed": lambda: "A follow-up could not be sent",
        "feedback_received": lambda: (
            f"The customer rated us {p.get('rating')}/5"
            + (f": {_quote(p['comment'])}" if p.get("comment") else "")
        ),
        "feedback_rating_changed": lambda: (
            f"The customer changed their rating to {p.get('rating')}/5"
        ),
        "feedback_commented": lambda: f"The customer commented: {_quote(p.get('comment'))}",
        "customer_unsubscribed": lambda: "The customer stopped the follow-ups",
        "customer_resubscribed": lambda: "The customer took the follow-ups back",
        "process_fix_linked": lambda: "Linked to a process fix",
        "process_fix_status": lambda: "A linked process fix moved on",
    }
    text = texts.get(event.action, lambda: event.action.replace("_", " ").capitalize())()
    return text + by


@dataclass
class Round:
    """The events from one (re)opening to the next reopen."""

    number: int
    events: list[dict[str, Any]]
    ended: str = ""  # how it ended: the reopen's words

    @property
    def steps(self) -> list[str]:
        return [e["step"] for e in self.events if e["step"]]


def rounds(events: Iterable[TicketEvent]) -> list[Round]:
    """The history in rounds, oldest first; the last is the current one."""
    events = list(events)
    names = Names.of(events)
    current = Round(1, [])
    done: list[Round] = []
    for event in events:
        line: dict[str, Any] = {
            "at": event.created_at,
            "text": sentence(event, names),
            "step": STEPS_DONE.get(event.action, ""),
        }
        if event.action == "reopen":
            current.ended = line["text"][0].lower() + line["text"][1:]
            done.append(current)
            current = Round(current.number + 1, [line])
            continue
        current.events.append(line)
    return [*done, current]
