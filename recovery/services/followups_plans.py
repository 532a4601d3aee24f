"""The follow-up plans: how supervisors edit them, one write path for the
console and the Django admin alike. What a plan says to a customer in their
language is a read: ``recovery.selectors.followup_plans``."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction

from accounts.models import User
from core.errors import NotPermitted, RuleViolation
from core.languages import FALLBACK
from recovery.followup_template_limits import TEXT_LIMIT
from recovery.followup_templates import validate_template
from recovery.models import FollowUpPlan, FollowUpPlanChange, FollowUpPlanStep
from tickets.models import Severity

MIN_DAY = 1
MAX_DAY = 365
MAX_STEPS = 20
SUBJECT_LIMIT = FollowUpPlanStep._meta.get_field("subject_template").max_length or 200
# What a template may build is bounded by the same number.
BODY_LIMIT = TEXT_LIMIT

# One language's text of a step: {"subject": ..., "body": ...}.
Translations = Mapping[str, Mapping[str, str]]


def translation_languages() -> list[tuple[str, str]]:
    """The languages a step may have its own text in, besides English (which
    every step has): the others we send in, as (code, name)."""
    return [(code, str(name)) for code, name in settings.LANGUAGES if code != FALLBACK]


@dataclass(frozen=True)
class PlanStep:
    """One check-in of a plan: days after resolution, subject and body
    templates in English, and the same in other languages where written."""

    offset_days: int
    subject_template: str
    body_template: str
    translations: Translations = field(default_factory=dict)

    def as_record(self) -> list[object]:
        translations = {code: dict(text) for code, text in self.translations.items()}
        return [self.offset_days, self.subject_template, self.body_template, translations]


def _text_clean(
    subject: object, body: object, *, number: int, language: str | None = None
) -> tuple[str, str]:
    """A subject and body that fit and compile; for a translation, the
    problems name the language and the field the console shows them on."""
    suffix = "" if language is None else f"_{language.replace('-', '_')}"
    where = f"Step {number}" + (f" ({dict(translation_languages())[language]})" if language else "")
    subject_field, body_field = f"subject_template{suffix}", f"body_template{suffix}"
    if not isinstance(subject, str) or not isinstance(body, str):
        raise RuleViolation(f"{where}: the subject and body are text.", field=subject_field)
    subject, body = subject.strip(), body.strip()
    if not subject or not body:
        raise RuleViolation(
            f"{where}: a step needs a subject and a body."
            if language is None
            else f"{where}: a translation needs both a subject and a body (or neither).",
            field=subject_field if not subject else body_field,
        )
    if len(subject) > SUBJECT_LIMIT:
        raise RuleViolation(
            f"{where}: the subject is at most {SUBJECT_LIMIT} characters.", field=subject_field
        )
    if len(body) > BODY_LIMIT:
        raise RuleViolation(
            f"{where}: the body is at most {BODY_LIMIT} characters.", field=body_field
        )
    for source, name in ((subject, subject_field), (body, body_field)):
        try:
            validate_template(source, field=name)
        except RuleViolation as error:
            # English keeps the bare message (its field says which step);
            # a translation's names the language, as it is folded away.
            if language is None:
                raise
            raise RuleViolation(f"{where}: {error.detail}", field=name) from None
    return subject, body


def _translations_clean(translations: object, *, number: int) -> dict[str, dict[str, str]]:
    known = dict(translation_languages())
    if not isinstance(translations, Mapping):
        raise RuleViolation(
            f"Step {number}: the translations are a mapping of languages.", field="translations"
        )
    unknown = sorted(str(code) for code in translations if code not in known)
    if unknown:
        raise RuleViolation(
            f"Step {number}: we do not send in {', '.join(unknown)}; "
            f"the languages are {', '.join(known)}.",
            field="translations",
        )
    cleaned: dict[str, dict[str, str]] = {}
    for code in known:
        text = translations.get(code)
        if text is None:
            continue
        if not isinstance(text, Mapping) or set(text) - {"subject", "body"}:
            raise RuleViolation(
                f"Step {number}: a translation is a subject and a body.", field="translations"
            )
        subject, body = text.get("subject", ""), text.get("body", "")
        if isinstance(subject, str) and isinstance(body, str) and not (subject + body).strip():
            continue  # left empty: that language reads the English
        subject, body = _text_clean(subject, body, number=number, language=code)
        cleaned[code] = {"subject": subject, "body": body}
    return cleaned


def plan_steps_clean(steps: Sequence[PlanStep]) -> list[PlanStep]:
    """The rules of a plan's steps, for the service and for the forms that
    want to show every problem before saving. Raises RuleViolation."""
    if not steps:
        raise RuleViolation(
            "A plan needs at least one step: the rebuilding period is its check-ins.",
            field="steps",
        )
    if len(steps) > MAX_STEPS:
        raise RuleViolation(f"A plan has at most {MAX_STEPS} steps.", field="steps")
    cleaned: list[PlanStep] = []
    seen: set[int] = set()
    for number, step in enumerate(steps, start=1):
        day = step.offset_days
        if isinstance(day, bool) or not isinstance(day, int) or not MIN_DAY <= day <= MAX_DAY:
            raise RuleViolation(
                f"Step {number}: the day is a whole number from {MIN_DAY} to {MAX_DAY}.",
                field="offset_days",
            )
        if day in seen:
            raise RuleViolation(
                f"Step {number}: there is already a step on day {day}; one step per day.",
                field="offset_days",
            )
        seen.add(day)
        subject, body = _text_clean(step.subject_template, step.body_template, number=number)
        translations = _translations_clean(step.translations, number=number)
        cleaned.append(PlanStep(day, subject, body, translations))
    return sorted(cleaned, key=lambda s: s.offset_days)


@transaction.atomic
def followup_plan_set(*, severity: str, actor: User, steps: Sequence[PlanStep]) -> FollowUpPlan:
    """Replace the steps of the plan for ``severity``. Only supervisors and
    admins may; days run from 1 to 365, one step per day, every step has an
    English subject and body, and may have both in the other languages we
    send in (a customer reading one without them gets the English); every
    template must compile, so a broken one is refused here rather than at
    send time. The change is recorded (who, when, steps before and after,
    translations included) and applies to mishaps resolved from now on:
    scheduled follow-ups copied their text when they were scheduled and keep it."""
    if not actor.has_perm("recovery.change_followupplan"):
        raise NotPermitted("Only supervisors and admins change follow-up plans.")
    if severity not in Severity.values:
        raise RuleViolation(
            f"The severity is one of {', '.join(Severity.values)}.", field="severity"
        )
    cleaned = plan_steps_clean(steps)

    # The plan row is the lock: two supervisors saving at once take turns, and
    # the second one's "before" is the first one's "after".
    plan, _ = FollowUpPlan.objects.select_for_update().get_or_create(severity=severity)
    before = [
        PlanStep(s.offset_days, s.subject_template, s.body_template, s.translations).as_record()
        for s in FollowUpPlanStep.objects.filter(plan=plan).order_by("offset_days", "id")
    ]
    after = [step.as_record() for step in cleaned]
    if before == after:
        return plan
    FollowUpPlanStep.objects.filter(plan=plan).delete()
    FollowUpPlanStep.objects.bulk_create(
        FollowUpPlanStep(
            plan=plan,
            offset_days=step.offset_days,
            subject_template=step.subject_template,
            body_template=step.body_template,
            translations=dict(step.translations),
        )
        for step in cleaned
    )
    plan.updated_by = actor
    plan.save(update_fields=["updated_by", "updated_at"])
    FollowUpPlanChange.objects.create(plan=plan, changed_by=actor, old=before, new=after)
    return plan
