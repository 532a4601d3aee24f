"""Living the stories: each step through the services, at its moment; and
beat's sweeps at the moments beat would have run them."""

import random
from datetime import datetime, time, timedelta
from functools import partial

from django.conf import settings
from django.db.models import Max
from django.utils import timezone

from accounts.models import User
from core import clock
from demo.history.stories import Grant, Story
from demo.history.texts import (
    ACKNOWLEDGEMENTS,
    APOLOGIES,
    PROCESS_FIXES,
    RESTITUTION_REASONS,
    Mishap,
    Question,
)
from demo.history.timeline import Timeline
from outbox.dispatch import outbox_dispatch
from outbox.models import OutboxItem
from recovery.models import FollowUp, Period, ProcessFix, Restitution
from recovery.selectors import period_start
from recovery.services import (
    approval_decide,
    process_fix_create,
    process_fix_set_status,
    restitution_grant,
)
from recovery.services.followup_delivery import SOURCE as FOLLOWUPS
from recovery.services.followup_responses import customer_unsubscribe, feedback_record
from recovery.services.followups import followups_claim_due, tickets_restore_finished
from tickets.models import Kind, Queue, Status, Ticket
from tickets.services import (
    ticket_acknowledge,
    ticket_apologize,
    ticket_close,
    ticket_commit,
    ticket_create,
    ticket_resolve,
    ticket_restore,
    tickets_close_quiet,
    timeliness_check,
)

# Agents log these contacts themselves; email and web forms arrive on their own.
AGENT_CHANNELS = ("phone", "chat", "social")
PENDING = (FollowUp.Status.SCHEDULED, FollowUp.Status.QUEUED)


class Worker:
    """A Celery worker's part, in this process: right after each step, the
    outbox rows that are due (under the frozen clock) are dispatched, batch
    after batch, by the code the outbox's task runs. Only the rows the
    history writes: anything that waited before the seeding is the real
    worker's."""

    def __init__(self) -> None:
        self.after = OutboxItem.objects.aggregate(last=Max("pk"))["last"] or 0

    def __call__(self) -> None:
        while True:
            due = OutboxItem.objects.filter(
                status=OutboxItem.Status.PENDING, due_at__lte=clock.now(), pk__gt=self.after
            )
            ids = list(due.values_list("pk", flat=True)[: settings.HELPDESK_OUTBOX_BATCH])
            if not ids or not outbox_dispatch(item_ids=ids).claimed:
                return


class Desk:
    """The desk over the history: agents, the supervisor and beat."""

    def __init__(
        self,
        *,
        timeline: Timeline,
        rng: random.Random,
        supervisor: User,
        queues: dict[str, Queue],
        worker: Worker,
    ) -> None:
        self.timeline = timeline
        self.worker = worker
        self.rng = rng
        self.supervisor = supervisor
        self.queues = queues
        self.stories: dict[int, Story] = {}
        zone = timezone.get_default_timezone()
        monday = period_start(Period.WEEK, timeline.until)
        self.this_week = datetime.combine(monday, time.min, tzinfo=zone)
        self.resolved_by_theme: dict[str, list[Ticket]] = {}

    def begin(self, stories: list[Story]) -> None:
        for story in stories:
            self.timeline.at(story.created, partial(self.create, story))

    def create(self, story: Story) -> None:
        name, email = story.customer
        ticket, _ = ticket_create(
            actor=story.agent if story.channel in AGENT_CHANNELS else None,
            assignee=story.agent,
            subject=story.topic.subject,
            body=story.topic.body,
            kind=Kind.MISHAP if isinstance(story.topic, Mishap) else Kind.QUESTION,
            severity=story.severity,
            channel=story.channel,
            customer_email=email,
            customer_name=name,
            queue=self.queues[story.topic.queue],
        )
        story.ticket = ticket
        self.stories[ticket.pk] = story
        for moment in story.check_targets_at:
            # Beat checks every minute; here, at the moment a target is missed.
            self.timeline.at(moment, timeliness_check)
        self.timeline.after(story.ack_after, partial(self.acknowledge, story))

    def acknowledge(self, story: Story) -> None:
        topic = story.topic
        story.ticket = ticket_acknowledge(
            ticket=_ticket(story),
            actor=story.agent,
            message=self.rng.choice(ACKNOWLEDGEMENTS).format(name=story.first_name),
            our_part=topic.our_part if isinstance(topic, Mishap) else None,
        )
        if isinstance(topic, Question):
            self.timeline.after(story.resolve_after, partial(self.answer, story, topic))
        elif story.apologize_after is not None:
            self.timeline.after(story.apologize_after, partial(self.apologize, story, topic))

    def answer(self, story: Story, topic: Question) -> None:
        ticket = ticket_resolve(ticket=_ticket(story), actor=story.agent, message=topic.answer)
        story.ticket = ticket
        self._sweep_when_due(ticket)
        if story.agent_closes:
            close = partial(ticket_close, ticket=ticket, actor=story.agent)
            self.timeline.after(timedelta(minutes=self.rng.randint(2, 60)), close)
        else:
            self.timeline.after(settings.HELPDESK_AUTO_CLOSE_AFTER, tickets_close_quiet)

    def apologize(self, story: Story, topic: Mishap) -> None:
        message = self.rng.choice(APOLOGIES).format(name=story.first_name)
        story.ticket = ticket_apologize(ticket=_ticket(story), actor=story.agent, message=message)
        self.timeline.after(story.commit_after, partial(self.commit, story, topic))

    def commit(self, story: Story, topic: Mishap) -> None:
        due_at = self.timeline.now + story.due_in
        story.ticket = ticket_commit(
            ticket=_ticket(story), actor=story.agent, promise=topic.promise, due_at=due_at
        )
        # None in the current week: the current demo tickets' grants meet this
        # week's budgets as the demo describes them (within authority or not).
        if story.grant is not None and self.timeline.now + story.grant.after < self.this_week:
            self.timeline.after(story.grant.after, partial(self.grant, story, story.grant))
        if story.replacement is not None and self.timeline.now < self.this_week:
            self.timeline.after(timedelta(minutes=20), partial(self.replace, story))
        resolve_at = due_at + story.late_by if story.late_by else due_at - story.early_by
        self.timeline.at(resolve_at, partial(self.resolve, story, topic))

    def grant(self, story: Story, grant: Grant) -> None:
        restitution = restitution_grant(
            ticket=_ticket(story),
            actor=story.agent,
            kind=grant.kind,
            amount=grant.amount,
            currency=settings.DEFAULT_CURRENCY,
            reason=RESTITUTION_REASONS[grant.kind],
            customer_loss=grant.loss,
        )
        if restitution.status == Restitution.Status.PENDING_APPROVAL:
            story.awaiting_decision = True
            decide = partial(self.decide, story, grant, restitution)
            self.timeline.after(grant.decide_after, decide)

    def replace(self, story: Story) -> None:
        """A replacement is not among an agent's kinds: the supervisor grants it."""
        restitution_grant(
            ticket=_ticket(story),
            actor=self.supervisor,
            kind="replacement",
            amount=story.replacement,
            currency=settings.DEFAULT_CURRENCY,
            reason=RESTITUTION_REASONS["replacement"],
        )

    def decide(self, story: Story, grant: Grant, restitution: Restitution) -> None:
        approval_decide(
            approval=restitution.approval,
            actor=self.supervisor,
            approve=grant.approve,
            reason="" if grant.approve else grant.rejection,
        )
        story.awaiting_decision = False
        if story.resolve_when_decided and isinstance(story.topic, Mishap):
            resolve = partial(self.resolve, story, story.topic)
            self.timeline.after(timedelta(minutes=self.rng.randint(10, 40)), resolve)

    def resolve(self, story: Story, topic: Mishap) -> None:
        if story.awaiting_decision:  # not resolved while a grant awaits the supervisor
            story.resolve_when_decided = True
            return
        ticket = ticket_resolve(ticket=_ticket(story), actor=story.agent, message=topic.resolution)
        story.ticket = ticket
        if not self._sweep_when_due(ticket):  # unsubscribed: the agent ends the period
            self.timeline.after(timedelta(days=14), partial(self.end_rebuilding, story))
        self._maybe_fix_process(topic.theme, ticket)

    # --- Beat and the worker ----------------------------------------------------------

    def _sweep_when_due(self, ticket: Ticket) -> int:
        due = list(ticket.followups.values_list("due_at", flat=True))
        for due_at in due:
            self.timeline.at(due_at, self.sweep_followups)
        return len(due)

    def sweep_followups(self) -> None:
        """Beat's sweep, then a worker's sends, at the moment they were due."""
        self._send_followups(followups_claim_due())

    def _send_followups(self, followup_ids: list[int]) -> None:
        self.worker()
        for followup in FollowUp.objects.filter(pk__in=followup_ids).order_by("pk"):
            if followup.status == FollowUp.Status.SENT:
                self._after_sent(followup)
                continue
            # Still queued: put off to the customer's morning, when its outbox row is due.
            waiting = OutboxItem.objects.filter(
                source=FOLLOWUPS,
                source_id=followup.pk,
                status=OutboxItem.Status.PENDING,
                due_at__gt=clock.now(),
            ).first()
            if followup.status == FollowUp.Status.QUEUED and waiting is not None:
                self.timeline.at(waiting.due_at, partial(self._send_followups, [followup.pk]))

    def _after_sent(self, followup: FollowUp) -> None:
        story = self.stories[followup.ticket_id]
        step = followup.step_number
        answer = story.answers[step - 1] if step <= len(story.answers) else None
        if answer is not None:
            record = partial(
                feedback_record, followup=followup, rating=answer.rating, comment=answer.comment
            )
            self.timeline.after(answer.after, record)
        if story.unsubscribe_after_step == step:
            unsubscribe = partial(self.unsubscribe, followup)
            self.timeline.after(timedelta(hours=self.rng.randint(1, 30)), unsubscribe)
        pending = FollowUp.objects.filter(ticket_id=followup.ticket_id, status__in=PENDING)
        if isinstance(story.topic, Mishap) and not pending.exists():
            self._plan_done(story)

    def unsubscribe(self, followup: FollowUp) -> None:
        customer_unsubscribe(followup=followup)
        recovering = Ticket.objects.filter(
            customer_id=followup.customer_id, status=Status.REBUILDING
        )
        for ticket_id in recovering.values_list("pk", flat=True):
            self._plan_done(self.stories[ticket_id])

    def _plan_done(self, story: Story) -> None:
        """Beat restores the ticket after the grace period, unless a low rating holds it."""
        last = (
            FollowUp.objects.filter(ticket=_ticket(story))
            .exclude(sent_at=None)
            .order_by("-sent_at")
            .values_list("sent_at", flat=True)
            .first()
        )
        since = last or self.timeline.now
        restore_at = since + settings.HELPDESK_RESTORE_GRACE + timedelta(seconds=1)
        self.timeline.at(restore_at, partial(self.sweep_restore, story))

    def sweep_restore(self, story: Story) -> None:
        tickets_restore_finished()
        if _fresh(story).status == Status.REBUILDING:  # held back by a low rating
            self.timeline.after(timedelta(days=1), partial(self.end_rebuilding, story))

    def end_rebuilding(self, story: Story) -> None:
        ticket = _fresh(story)
        if ticket.status != Status.REBUILDING:
            return
        ticket_restore(
            ticket=ticket,
            actor=story.agent,
            reason=(
                f"Called {story.first_name} to talk it through; we agreed the rebuilding "
                "period can end here."
            ),
        )

    # --- The supervisor ------------------------------------------------------------------

    def _maybe_fix_process(self, theme: str, ticket: Ticket) -> None:
        """A second mishap of the same kind is a pattern: the supervisor
        proposes a process fix the next day, and sees it through."""
        seen = self.resolved_by_theme.setdefault(theme, [])
        seen.append(ticket)
        if theme in PROCESS_FIXES and len(seen) == 2:
            self.timeline.after(timedelta(days=1), partial(self.fix_process, theme, list(seen)))

    def fix_process(self, theme: str, tickets: list[Ticket]) -> None:
        title, root_cause, failsafe_change = PROCESS_FIXES[theme]
        fix = process_fix_create(
            actor=self.supervisor,
            title=title,
            root_cause=root_cause,
            failsafe_change=failsafe_change,
            tickets=tickets,
        )
        for days, status in ((1, ProcessFix.Status.IN_PROGRESS), (9, ProcessFix.Status.DONE)):
            advance = partial(process_fix_set_status, fix=fix, actor=self.supervisor, status=status)
            self.timeline.after(timedelta(days=days), advance)


def _ticket(story: Story) -> Ticket:
    """The ticket as the last step left it: the services read it again under their lock."""
    if story.ticket is None:
        raise RuntimeError("This story's ticket does not exist yet.")
    return story.ticket


def _fresh(story: Story) -> Ticket:
    """The ticket as it is now, after sweeps that changed it behind the story's back."""
    return Ticket.objects.get(pk=_ticket(story).pk)
