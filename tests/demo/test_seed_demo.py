import io
import os
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client, RequestFactory
from django.utils import timezone

from accounts.models import Customer, User
from accounts.roles import Role
from demo.history import HISTORY_CUSTOMERS, SEED
from demo.history.stories import Storyteller
from demo.history.texts import MISHAPS, QUESTIONS
from demo.management.commands.seed_demo import CUSTOMERS, DEMO_PASSWORD, STAFF
from demo.tickets import DEMO_TICKETS
from outbox.models import OutboxItem
from recovery.metrics import trust_metrics
from recovery.models import Feedback, FollowUp, ProcessFix, Restitution, WebhookDelivery
from recovery.services.followups import followups_claim_due, tickets_restore_finished
from tests.factories import TicketFactory
from tests.helpers import not_none
from tickets.models import Message, Severity, Status, Ticket
from tickets.selectors import DEFAULT_TARGETS, Target
from tickets.services import tickets_close_quiet, timeliness_check

DEMO_SUBJECTS = {subject for subject, *_ in DEMO_TICKETS}


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


@pytest.fixture(scope="class")
def seeded(django_db_setup: None, django_db_blocker: Any) -> Iterator[datetime]:
    """One seeding for the tests of a class (it takes seconds): each test
    runs in a savepoint inside this transaction, which is rolled back after
    the class. Yields when the seeding began: everything before is history."""
    with django_db_blocker.unblock(), transaction.atomic():
        began = timezone.now()
        seed()
        yield began
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_refuses_where_demo_data_is_disabled(settings: pytest.FixtureRequest) -> None:
    settings.HELPDESK_ALLOW_DEMO_DATA = False  # type: ignore[attr-defined]
    users = User.objects.count()

    with pytest.raises(CommandError, match="Demo data is disabled"):
        seed()

    assert User.objects.count() == users


@pytest.mark.django_db
def test_a_desk_with_tickets_gets_no_history() -> None:
    TicketFactory()

    output = seed()

    assert "0 new tickets of history" in output
    assert Ticket.objects.count() == 1 + len(DEMO_TICKETS)


def test_the_history_is_the_same_for_the_same_day() -> None:
    agents = [User(username="alex"), User(username="jordan")]
    until = datetime(2026, 5, 4, 15, 0, tzinfo=timezone.get_current_timezone())
    targets = {s: Target(*DEFAULT_TARGETS[Severity(s)]) for s in Severity.values}

    def plan() -> list[tuple[object, ...]]:
        stories = Storyteller(
            rng=random.Random(SEED),
            until=until,
            agents=agents,
            named_customers=[(name, email) for name, email, *_ in CUSTOMERS],
            targets=targets,
        ).stories()
        return [(s.created, s.topic, s.customer, s.agent.username, s.answers) for s in stories]

    assert plan() == plan()


@pytest.mark.django_db
class TestASeededDesk:
    def test_seeds_every_role_and_customers_in_several_time_zones(self, seeded: datetime) -> None:
        output = seed()

        roles = {User.objects.get(username=username).role for username, *_ in STAFF}
        assert roles == set(Role)
        assert Customer.objects.count() == len(CUSTOMERS) + len(HISTORY_CUSTOMERS)
        named = Customer.objects.filter(email__in=[email for _, email, *_ in CUSTOMERS])
        assert len(set(named.values_list("time_zone", flat=True))) == len(CUSTOMERS)
        assert len(set(Customer.objects.values_list("time_zone", flat=True))) > len(CUSTOMERS)
        assert (
            authenticate(
                RequestFactory().post("/console/login/"), username="alex", password=DEMO_PASSWORD
            )
            is not None
        )
        for username, role, *_ in STAFF:
            assert f"{username:<8} {role.label}" in output
        assert DEMO_PASSWORD in output

    def test_prints_a_customers_case_page_that_opens(self, seeded: datetime) -> None:
        output = seed()

        line = next(line for line in output.splitlines() if "case page" in line)
        assert CUSTOMERS[0][0] in line
        page = Client().get(urlsplit(line.rsplit(" ", 1)[1]).path)
        assert page.status_code == 200
        assert '<html lang="pt-BR">' in page.content.decode()

    def test_running_twice_duplicates_nothing(self, seeded: datetime) -> None:
        def counts() -> tuple[int, ...]:
            return tuple(
                model.objects.count()
                for model in (User, Customer, Ticket, Message, FollowUp, Feedback, Restitution)
            )

        before = counts()

        output = seed()

        assert counts() == before
        assert "(0 new), 0 new tickets in every state and 0 new tickets of history" in output

    def test_seeds_tickets_in_every_state_with_their_history(self, seeded: datetime) -> None:
        current = Ticket.objects.filter(subject__in=DEMO_SUBJECTS)
        assert set(current.values_list("status", flat=True)) == set(Status.values)
        assert current.count() == len(DEMO_TICKETS)
        restored = current.get(status=Status.RESTORED)
        assert [e.action for e in restored.events.all()] == [
            "created",
            "acknowledge",
            "apologize",
            "commit",
            "resolve",
            "followups_scheduled",
            "restore",
            "followups_cancelled",
        ]

    def test_the_history_is_over_the_last_90_days_and_apart_from_the_current_tickets(
        self, seeded: datetime
    ) -> None:
        history = Ticket.objects.exclude(subject__in=DEMO_SUBJECTS)
        days = {timezone.localdate(at) for at in history.values_list("created_at", flat=True)}

        assert len(days) >= 80
        assert min(days) >= timezone.localdate(seeded) - timedelta(days=90)
        assert max(days) < timezone.localdate(seeded)
        assert not DEMO_SUBJECTS & {t.subject for t in (*QUESTIONS, *MISHAPS)}
        assert history.filter(kind="question").count() > 2 * history.filter(kind="mishap").count()
        assert set(history.values_list("assignee__username", flat=True)) == {"alex", "jordan"}
        assert len(set(history.values_list("channel", flat=True))) >= 4
        assert set(history.filter(kind="mishap").values_list("severity", flat=True)) == {
            "minor",
            "major",
            "critical",
        }
        assert ProcessFix.objects.filter(status=ProcessFix.Status.DONE).count() >= 2
        # No historical email left this process: delivered with the dummy backend.
        assert mail.outbox == []

    def test_the_history_fills_every_figure_of_the_trust_dashboard(self, seeded: datetime) -> None:
        today = timezone.localdate()

        metrics = trust_metrics(start=today - timedelta(days=90), end=today)

        figures = metrics.as_dict()
        assert [name for name, value in figures.items() if value is None] == []
        assert 0 < not_none(metrics.median_minutes_to_acknowledge) < 8 * 60
        assert 0.5 < not_none(metrics.apology_rate) < 1
        assert 0.5 < not_none(metrics.promises_kept_rate) < 1
        assert not_none(metrics.median_hours_to_approval) > 0
        assert metrics.followup_delivery_rate == 1.0
        assert 0 < not_none(metrics.followup_response_rate) < 1
        assert not_none(metrics.recovered_average_rating) > not_none(
            metrics.never_failed_average_rating
        )
        assert not_none(metrics.recovery_paradox_index) > 1
        assert 0 < metrics.repeat_failures < metrics.mishaps / 3
        spend = metrics.restitution_spend
        assert {"alex", "jordan", "sam"} <= {row["username"] for row in spend}
        assert len({row["kind"] for row in spend}) >= 4
        statuses = set(Restitution.objects.values_list("status", flat=True))
        assert {"granted", "approved", "rejected"} <= statuses

    def test_nothing_from_the_history_is_left_for_beat(self, seeded: datetime) -> None:
        # Each sweep as beat would run it the moment the seeding began.
        assert followups_claim_due(now=seeded) == []
        assert timeliness_check(now=seeded) == 0
        assert tickets_close_quiet(now=seeded) == 0
        assert tickets_restore_finished(now=seeded) == 0
        # The outbox's sweep would find nothing due, nor any claim to take back.
        assert not OutboxItem.objects.filter(
            status=OutboxItem.Status.PENDING, due_at__lte=seeded
        ).exists()
        assert not OutboxItem.objects.filter(status=OutboxItem.Status.SENDING).exists()
        history = {"created_at__lt": seeded}
        assert not OutboxItem.objects.filter(**history, status=OutboxItem.Status.FAILED).exists()
        assert OutboxItem.objects.filter(**history, status=OutboxItem.Status.SENT).count() > 500
        assert not Message.objects.filter(
            **history, delivery_status=Message.Delivery.PENDING
        ).exists()
        assert not FollowUp.objects.filter(
            due_at__lt=seeded, status__in=[FollowUp.Status.SCHEDULED, FollowUp.Status.QUEUED]
        ).exists()
        assert not WebhookDelivery.objects.exists()
        sent = FollowUp.objects.filter(status=FollowUp.Status.SENT)
        assert sent.count() > 100
        assert not sent.filter(sent_at__gte=seeded).exists()
        assert FollowUp.objects.filter(status=FollowUp.Status.CANCELLED).exists()
        assert Feedback.objects.filter(created_at__lt=seeded).count() > 30


@pytest.mark.slow
def test_the_history_puts_no_task_on_the_broker_and_sends_no_email(tmp_path: Path) -> None:
    """As ``scripts/run`` seeds the local desk: SQLite, the filesystem broker
    and the file email backend, in a process of its own, so the history's
    transaction really commits and its on-commit tasks really run."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "EMAIL_URL", "SECRET_KEY"}
    }
    env.update(DJANGO_SETTINGS_MODULE="helpdesk.settings.local", HELPDESK_VAR_DIR=str(tmp_path))

    def manage(*args: str) -> str:
        return subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=180,
        ).stdout

    manage("migrate", "--noinput")
    output = manage("seed_demo")
    waiting = manage(
        "shell",
        "-c",
        "from tickets.models import Alert, Message; print("
        "Message.objects.filter(delivery_status='pending').count()"
        " + Alert.objects.filter(sent_at=None).count())",
    )

    assert "new tickets of history" in output
    assert "0 new tickets of history" not in output
    queued = list((tmp_path / "broker" / "queue").iterdir())
    # Only the current tickets' emails and alerts wait for the worker.
    assert len(queued) == int(waiting.split()[-1])
    assert len(queued) < 40
    mail_dir = tmp_path / "mail"
    assert not mail_dir.exists() or not any(mail_dir.iterdir())
