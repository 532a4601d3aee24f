"""The dispatch workload: due follow-ups on rebuilding tickets swept by the
beat task's own code and sent by one Celery worker through the outbox to an
SMTP sink; the floor is a raw smtplib loop to the same sink."""

import os
import smtplib
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, QuerySet
from django.test.utils import override_settings
from django.utils import timezone

from accounts.roles import Role
from accounts.services import staff_upsert
from bench.measure import Result, Timing, counting_queries
from bench.servers import celery_worker, smtp_sink
from bench.workloads import Context, workload
from bench.workloads.write.tags import run_tag
from helpdesk.celery import app as celery_app
from outbox.dispatch import outbox_dispatch
from outbox.models import OutboxItem
from outbox.services import outbox_enqueue, outbox_item
from recovery.models import FollowUp
from recovery.services.followup_delivery import SOURCE as FOLLOWUPS
from recovery.services.followup_emails import build_followup_email, email_contexts
from recovery.tasks import sweep_followups
from tickets.models import Kind, Severity
from tickets.services import (
    ticket_acknowledge,
    ticket_apologize,
    ticket_commit,
    ticket_create,
    ticket_resolve,
)


def _rebuilding_tickets(*, count: int, tag: str) -> list[int]:
    """Mishaps walked through the whole recovery by the services; resolving
    each schedules its follow-up plan (three rows by default)."""
    agent = staff_upsert(username=f"bench-dispatch-{tag}", role=Role.AGENT).user
    ids = []
    for n in range(count):
        ticket, _ = ticket_create(
            actor=agent,
            subject=f"Order {n} delivered a week late",
            body="It was a birthday present and it came after the party.",
            customer_email=f"followup-{tag}-{n}@bench.example",
            customer_name=f"Customer {n}",
            kind=Kind.MISHAP,
            severity=Severity.MINOR,
        )
        ticket = ticket_acknowledge(
            ticket=ticket,
            actor=agent,
            message="We have your message about the late order.",
            our_part="We shipped it from the wrong warehouse.",
        )
        ticket = ticket_apologize(ticket=ticket, actor=agent, message="We are sorry.")
        ticket = ticket_commit(
            ticket=ticket,
            actor=agent,
            promise="We will refund the shipping and check the warehouse rules.",
            due_at=timezone.now() + timedelta(days=2),
        )
        ticket = ticket_resolve(ticket=ticket, actor=agent, message="Refunded, rules fixed.")
        ids.append(ticket.pk)
    return ids


def _due_followups(*, total: int, tag: str, tickets: int) -> tuple[list[int], list[FollowUp]]:
    """``total`` due follow-ups on rebuilding tickets, plus a batch more
    (HELPDESK_OUTBOX_BATCH, the samples, not swept): one dispatch task's
    batch, to count the queries per mail, the first of which gives the floor
    its message."""
    batch = settings.HELPDESK_OUTBOX_BATCH
    ticket_ids = _rebuilding_tickets(count=tickets, tag=tag)
    scheduled = list(FollowUp.objects.filter(ticket_id__in=ticket_ids).order_by("id"))
    # Benchmark setup, not a write path of the product: the services schedule
    # three follow-ups per ticket, and walking 7,000 tickets through them would
    # take longer than the measurement; more rows like theirs go in at once.
    extra = [
        FollowUp(
            ticket_id=row.ticket_id,
            customer_id=row.customer_id,
            step_number=row.step_number + 3 * (1 + n // len(scheduled)),
            offset_days=row.offset_days,
            subject_template=row.subject_template,
            body_template=row.body_template,
            due_at=row.due_at,
        )
        for n, row in enumerate(
            scheduled[i % len(scheduled)] for i in range(total + batch - len(scheduled))
        )
    ]
    FollowUp.objects.bulk_create(extra, batch_size=2000)
    rows = FollowUp.objects.filter(ticket_id__in=ticket_ids).order_by("id")
    samples = list(rows.select_related("customer", "ticket__customer").reverse()[:batch])
    if rows.count() != total + batch:
        raise RuntimeError("The follow-ups were not all created.")
    # The samples wait queued with their outbox rows, as the sweep leaves
    # them, for the in-process dispatch (the task this queues is purged).
    with transaction.atomic():
        FollowUp.objects.filter(pk__in=[s.pk for s in samples]).update(
            status=FollowUp.Status.QUEUED, queued_at=timezone.now()
        )
        outbox_enqueue(
            [
                outbox_item(
                    source=FOLLOWUPS,
                    source_id=s.pk,
                    kind=OutboxItem.Kind.EMAIL,
                    message_id=s.message_id,
                    recipient=s.customer.email,
                )
                for s in samples
            ]
        )
    FollowUp.objects.filter(ticket_id__in=ticket_ids, status=FollowUp.Status.SCHEDULED).update(
        due_at=timezone.now() - timedelta(minutes=1)
    )
    if connection.vendor == "postgresql":
        # The statistics autovacuum would gather after a bulk load, now, so
        # that the plans of the sweep and of the wait do not hang on its timing.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {FollowUp._meta.db_table}")
    return ticket_ids, samples


def _smtp_floor(*, port: int, count: int, raw: bytes, sender: str) -> Timing:
    """A raw smtplib loop: one connection, the same rendered follow-up each time."""
    timing = Timing()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        started = time.perf_counter()
        for n in range(count):
            before = time.perf_counter()
            smtp.sendmail(sender, [f"customer-{n}@bench.example"], raw)
            timing.samples.append(time.perf_counter() - before)
        timing.wall = time.perf_counter() - started
    timing.operations = count
    return timing


def _sweep_and_wait(*, mine: QuerySet[FollowUp], total: int, timeout: float) -> tuple[Timing, int]:
    """What beat does, as fast as it can: sweep until nothing is due, then
    wait until every follow-up is recorded sent (or failed for good): the
    outbox marks each row sent as the server takes it, and the follow-ups
    are recorded at the end of each batch."""
    started = time.perf_counter()
    sweeps = 0
    while sweep_followups():  # the beat task's own code, 500 rows a sweep
        sweeps += 1
    pause = 0.02 if total < 1000 else 0.1
    # Whether any is still to be sent, by the (ticket, status) index: it
    # reads the few rows left, where counting those done read every row
    # settled so far, 25 ms of PostgreSQL's CPU ten times a second near the
    # end, taken from the worker the benchmark measures.
    waiting = mine.filter(status__in=[FollowUp.Status.SCHEDULED, FollowUp.Status.QUEUED])
    while waiting.exists() and time.perf_counter() - started <= timeout:
        time.sleep(pause)
    wall = time.perf_counter() - started
    sent = mine.filter(status=FollowUp.Status.SENT).count()
    return Timing(operations=sent, wall=wall), sweeps


@workload("dispatch")
def dispatch(context: Context) -> Result:
    full = context.scale == "full"
    total = 20_000 if full else 30
    tag = run_tag()
    ticket_ids, samples = _due_followups(total=total, tag=tag, tickets=100 if full else 10)
    # Setup queued its own mails (acknowledgements, apologies...) on the
    # broker: they are not what is measured.
    celery_app.control.purge()
    # Two processes a core (BENCH_WORKER_CONCURRENCY to change it): Celery's
    # default of one a core suits work that computes; a sender spends much
    # of each mail waiting on the mail server and on the database's commits.
    pool = "prefork"
    concurrency = int(os.environ.get("BENCH_WORKER_CONCURRENCY") or 2 * (os.cpu_count() or 1))
    sample_ids = [s.pk for s in samples]
    sample_items = list(
        OutboxItem.objects.filter(source=FOLLOWUPS, source_id__in=sample_ids).values_list(
            "pk", flat=True
        )
    )
    mine = FollowUp.objects.filter(ticket_id__in=ticket_ids).exclude(pk__in=sample_ids)
    # The sweep takes every due follow-up in the database, not only ours.
    others_due = (
        FollowUp.objects.filter(status=FollowUp.Status.SCHEDULED, due_at__lte=timezone.now())
        .exclude(ticket_id__in=ticket_ids)
        .count()
    )
    with smtp_sink() as sink:
        sample = samples[0]
        message = build_followup_email(sample, email_contexts([sample])[sample.pk]).message()
        floor = _smtp_floor(
            port=sink.port,
            count=total,
            # As Django's SMTP backend sends it (its MIME classes take a linesep).
            raw=message.as_bytes(linesep="\r\n"),  # type: ignore[call-arg]
            sender=settings.DEFAULT_FROM_EMAIL,
        )
        with (
            override_settings(
                EMAIL_BACKEND="core.mail.SMTPBackend",
                EMAIL_HOST="127.0.0.1",
                EMAIL_PORT=sink.port,
                EMAIL_USE_TLS=False,
                EMAIL_USE_SSL=False,
                EMAIL_HOST_USER="",
                EMAIL_HOST_PASSWORD="",
                HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW=False,
            ),
            counting_queries() as queries,
        ):
            if len(outbox_dispatch(item_ids=sample_items).sent) != len(samples):
                raise RuntimeError("The sample follow-ups were not all sent.")
        with celery_worker(smtp_port=sink.port, pool=pool, concurrency=concurrency):
            work, sweeps = _sweep_and_wait(mine=mine, total=total, timeout=1800 if full else 60)
    # Amortised over one dispatch task's batch, as the worker runs them.
    work.queries = queries[0] / len(samples)
    statuses = dict(mine.values_list("status").annotate(n=Count("id")))
    notes = [
        f"sent {statuses.get(FollowUp.Status.SENT, 0)} of {total} follow-ups"
        + "".join(f", {n} {status}" for status, n in sorted(statuses.items()) if status != "sent"),
        f"the sink accepted {sink.received} messages (floor {total} + samples {len(samples)}"
        f" + workload {total}"
        + (
            f" + {others_due} other due follow-ups in this database, swept too)"
            if others_due
            else ")"
        ),
        f"{sweeps} sweeps of up to 500, in outbox dispatch tasks of "
        f"{settings.HELPDESK_OUTBOX_BATCH}; worker: --pool {pool} --concurrency {concurrency}",
        f"{work.queries:.2f} queries per mail, amortised over a batch of {len(samples)} "
        "(the batch's claim and reads, the outbox row's mark-sent UPDATE per mail, "
        "then the follow-ups recorded sent together)",
        "the night guard (HELPDESK_FOLLOWUP_SEND_ONLY_IN_WINDOW) is off for the worker",
    ]
    return Result(
        name="dispatch",
        description=(
            f"{total} due follow-ups swept (the beat task's code, back to back) and sent by "
            f"ONE Celery worker on Redis ({pool}, {concurrency} processes) through the outbox "
            "to a local SMTP sink; throughput is sent mails/s until the outbox has the last "
            "marked sent; queries/op are per mail, amortised over one dispatch task's batch. "
            "Floor: a raw smtplib loop over "
            "one connection, the same rendered follow-up each time, to the same sink."
        ),
        workload=work,
        floor=floor,
        notes=notes,
        targets={"ratio": 0.5},
    )
