"""Showing messages: the new words first, the quoted history folded away."""

import re
from datetime import date, datetime
from functools import lru_cache
from html import escape
from typing import Any

from django import template
from django.template import Context
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import localtime
from django.utils.translation import get_language

from tickets.models import Message, Ticket

register = template.Library()

# Where a reply's quoted history starts, in the common mail clients.
_QUOTE_START = re.compile(
    r"^(>|On .{3,200}wrote:\s*$|-{2,}\s*Original Message\s*-{2,}|From: .+|Le .{3,200}a écrit\s*:)",
    re.IGNORECASE,
)


@register.filter
def split_quoted(body: str) -> tuple[str, str]:
    """``(fresh, quoted)``: the text before the first quoted line, and the rest."""
    lines = body.splitlines()
    for index, line in enumerate(lines):
        if index and _QUOTE_START.match(line.strip()):
            fresh = "\n".join(lines[:index]).rstrip()
            if fresh:
                return fresh, "\n".join(lines[index:])
    return body, ""


# --- the conversation, rendered in Python ------------------------------------------
# Fifty messages through the template language cost the ticket page about a
# fifth of its CPU (a dozen lookups and two date formats a message); the
# same markup built here costs a fraction of that. Every value goes through
# ``escape`` (the standard library's, which Django's escape() calls after a
# check for lazy strings that cost half the time here); only a message's
# sanitized HTML (``body_html``, cleaned at intake) goes in as it is, as the
# template's ``|safe`` did.


@register.simple_tag(takes_context=True)
def render_messages(context: Context, messages: list[Message], ticket: Ticket) -> SafeString:
    """Each of ``messages`` as the ticket page shows it."""
    # The admin site the page is on, as {% url %} finds it.
    request = context["request"]
    site = getattr(request, "current_app", None) or request.resolver_match.namespace
    language = get_language()
    return SafeString("".join(_message(m, ticket, site, language) for m in messages))


def _message(m: Message, ticket: Ticket, site: str, language: str | None) -> str:
    customer = m.author_kind == Message.Author.CUSTOMER
    status = ""
    if not m.public:
        status = "· <strong>internal note</strong>"
    elif not customer:
        status = f"· email {escape(m.get_delivery_status_display().lower())}"
    kind = "note" if not m.public else "customer" if customer else ""
    step = f"· {escape(m.step)}" if m.step else ""
    fresh, quoted = split_quoted(m.body)
    if quoted:
        quoted = (
            '<details class="quoted"><summary>Quoted history</summary>'
            f'<div class="body">{escape(quoted)}</div></details>\n'
        )
    as_sent = ""
    if m.body_html:  # sanitized at intake (inbound.parsing)
        as_sent = (
            '<details class="as-sent"><summary>As the customer formatted it</summary>'
            f'<div class="html-body">{m.body_html}</div></details>\n'
        )
    created = localtime(m.created_at)
    return (
        f'<article class="message {kind}">\n<div class="meta">\n{_author(m, ticket)}\n'
        f'· <time datetime="{escape(created.isoformat())}">{_when(created, language)}</time>\n'
        f"{status}\n{step}\n</div>\n"
        f'<div class="body">{escape(fresh)}</div>\n'
        f"{quoted}{as_sent}{_attachments(m, ticket, site)}</article>\n"
    )


WHEN = "M j, Y H:i"


@register.filter(expects_localtime=True)
def when(moment: Any) -> str:
    """``|date:"M j, Y H:i"``, for the ticket page's dozen moments: each
    day's words formatted once (below), not once a moment."""
    if not isinstance(moment, datetime):  # a day, a text, nothing: as |date has them
        return date_filter(moment, WHEN)
    return mark_safe(_when(moment, get_language()))  # noqa: S308 (escaped by _when)


def _when(local: datetime, language: str | None) -> str:
    """As ``|date:"M j, Y H:i"`` writes it, escaped: "Dec 6, 2026 09:41"."""
    return f"{_day(local.date(), language)} {local:%H:%M}"


# A conversation's fifty messages fall on a few days: each day's words
# (the month's name translated) formatted once, not once a message.
@lru_cache(maxsize=1024)
def _day(day: date, language: str | None) -> str:
    return escape(date_format(day, "M j, Y"))


def _author(m: Message, ticket: Ticket) -> str:
    if m.author_kind == Message.Author.CUSTOMER:
        if m.from_address:
            return f"<strong>{escape(m.from_address)}</strong>, not the customer"
        return escape(ticket.customer.name or ticket.customer.email)
    if m.author is not None:
        return escape(m.author.get_full_name() or m.author.username)
    return escape(str(m.get_author_kind_display()))


def _attachments(m: Message, ticket: Ticket, site: str) -> str:
    files = list(m.attachments.all())
    if not files:
        return ""
    return format_html(
        '<ul class="attachments">\n{}\n</ul>\n',
        format_html_join(
            "",
            '<li><a href="{}" download>{}</a> <small>({})</small></li>',
            (
                (
                    reverse("admin:ticket_attachment", args=[ticket.pk, a.pk], current_app=site),
                    a.name,
                    filesizeformat(a.size),
                )
                for a in files
            ),
        ),
    )
