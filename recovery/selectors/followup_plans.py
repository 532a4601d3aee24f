"""What a follow-up plan says to a customer, in their language: the
supervisors' text where they wrote it, the code's defaults (through the
translation catalogue) where not. Plans are edited by
``recovery.services.followups_plans``."""

from collections.abc import Sequence
from typing import Any, NamedTuple

from django.utils import translation

from core.languages import FALLBACK
from recovery.followup_defaults import DEFAULT_STEPS, QUESTION_STEPS
from recovery.models import FollowUpPlan
from tickets.models import Kind, Ticket


class StepText(NamedTuple):
    """What one step of a plan says to a customer, and in which language."""

    offset_days: int
    subject: str
    body: str
    language: str


def step_texts(ticket: Ticket, language: str) -> list[StepText]:
    """What the follow-ups of ``ticket`` will say to a customer who reads
    ``language`` (a code of settings.LANGUAGES): for a mishap, its severity's
    plan, a step in that language where the supervisor wrote it and in
    English where not; the code's default plan (and a question's check-in)
    through the translation catalogue."""
    if ticket.kind != Kind.MISHAP:
        return _defaults(QUESTION_STEPS, language)
    return plan_texts(ticket.severity, language)


def plan_texts(severity: str, language: str) -> list[StepText]:
    """What the mishap plan for ``severity`` says in ``language``: its steps
    as the supervisors wrote them, or the code's default plan where none is
    saved."""
    plan = FollowUpPlan.objects.filter(severity=severity).prefetch_related("steps").first()
    if plan is None:
        return _defaults(DEFAULT_STEPS, language)
    texts = []
    for step in plan.steps.all():
        own = step.translations.get(language) if language != FALLBACK else None
        if own and own.get("subject") and own.get("body"):
            texts.append(StepText(step.offset_days, own["subject"], own["body"], language))
        else:
            # The whole email in English then, greeting and links too: an
            # English text under a Portuguese greeting and lang would say the
            # wrong language.
            texts.append(
                StepText(step.offset_days, step.subject_template, step.body_template, FALLBACK)
            )
    return texts


def _defaults(steps: Sequence[tuple[int, Any, Any]], language: str) -> list[StepText]:
    """The code's steps (lazily translated) as the catalogue of ``language``
    says them; a step it does not translate (a catalogue not compiled on this
    host, a string added since) is all English, so its lang says English."""
    texts = []
    for day, subject, body in steps:
        with translation.override(FALLBACK):
            english = (str(subject), str(body))
        with translation.override(language):
            own = (str(subject), str(body))
        if language != FALLBACK and own == english:
            texts.append(StepText(day, *english, FALLBACK))
        else:
            texts.append(StepText(day, *own, language))
    return texts
