"""Supervisors edit the follow-up plans: one write path for the console and
the Django admin alike."""

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction

from accounts.models import User
from core.errors import NotPermitted, RuleViolation
from recovery.models import FollowUpPlan, FollowUpPlanChange, FollowUpPlanStep
from recovery.services.followups import validate_template
from tickets.models import Severity

MIN_DAY = 1
MAX_DAY = 365
MAX_STEPS = 20
SUBJECT_LIMIT = FollowUpPlanStep._meta.get_field("subject_template").max_length or 200
BODY_LIMIT = 20_000


@dataclass(frozen=True)
class PlanStep:
    """One check-in of a plan: days after resolution, subject and body templates."""

    offset_days: int
    subject_template: str
    body_template: str

    def as_record(self) -> list[object]:
        return [self.offset_days, self.subject_template, self.body_template]


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
        subject = step.subject_template.strip()
        body = step.body_template.strip()
        if not subject or not body:
            raise RuleViolation(
                f"Step {number}: a step needs a subject and a body.",
                field="subject_template" if not subject else "body_template",
            )
        if len(subject) > SUBJECT_LIMIT:
            raise RuleViolation(
                f"Step {number}: the subject is at most {SUBJECT_LIMIT} characters.",
                field="subject_template",
            )
        if len(body) > BODY_LIMIT:
            raise RuleViolation(
                f"Step {number}: the body is at most {BODY_LIMIT} characters.",
                field="body_template",
            )
        validate_template(subject, field="subject_template")
        validate_template(body, field="body_template")
        cleaned.append(PlanStep(day, subject, body))
    return sorted(cleaned, key=lambda s: s.offset_days)


@transaction.atomic
def followup_plan_set(*, severity: str, actor: User, steps: Sequence[PlanStep]) -> FollowUpPlan:
    """Replace the steps of the plan for ``severity``. Only supervisors and
    admins may; days run from 1 to 365, one step per day, and every template
    must compile, so a broken one is refused here rather than at send time.
    The change is recorded (who, when, steps before and after) and applies to
    mishaps resolved from now on: scheduled follow-ups copied their text when
    they were scheduled and keep it."""
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
        PlanStep(s.offset_days, s.subject_template, s.body_template).as_record()
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
        )
        for step in cleaned
    )
    plan.updated_by = actor
    plan.save(update_fields=["updated_by", "updated_at"])
    FollowUpPlanChange.objects.create(plan=plan, changed_by=actor, old=before, new=after)
    return plan
