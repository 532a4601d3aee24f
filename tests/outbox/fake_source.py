"""A source of the tests' own, so the outbox is tested without tickets or
recovery: it composes an email per id from ``FakeSource.emails`` (or what
``FakeSource.answers`` says) and records every hook the outbox calls."""

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.core.mail import EmailMessage

from outbox.models import OutboxItem
from outbox.services import outbox_enqueue, outbox_item
from outbox.sources import Composed, Email, Source
from tests.outbox import backends

NAME = "tests.source"


class FakeSource:
    def __init__(self) -> None:
        self.answers: dict[int, Composed] = {}
        self.calls: list[tuple[Any, ...]] = []
        self.compose_calls = 0
        self.broken: Exception | None = None

    def compose(self, ids: Sequence[int]) -> Mapping[int, Composed]:
        self.compose_calls += 1
        if self.broken is not None:
            raise self.broken
        return {
            i: self.answers.get(i)
            or Email(EmailMessage(f"Mail {i}", "Hello", to=[f"c{i}@example.com"]))
            for i in ids
        }

    def source(self) -> Source:
        return Source(
            name=NAME,
            compose=self.compose,
            delivered=lambda deliveries: self.calls.extend(
                ("delivered", d.source_id) for d in deliveries
            ),
            attempt_failed=lambda i, attempt: self.calls.append(
                ("attempt_failed", i, attempt.error)
            ),
            failed=lambda i, error: self.calls.append(("failed", i, error)),
            cancelled=lambda i, reason: self.calls.append(("cancelled", i, reason)),
            requeued=lambda i: self.calls.append(("requeued", i)),
        )

    def hooks(self, kind: str) -> list[tuple[Any, ...]]:
        return [call for call in self.calls if call[0] == kind]


def enqueue(*source_ids: int, due_at: datetime | None = None) -> list[OutboxItem]:
    return outbox_enqueue(
        [
            outbox_item(
                source=NAME,
                source_id=i,
                kind=OutboxItem.Kind.EMAIL,
                message_id=f"<test-{i}@helpdesk.test>",
                reference=f"test {i}",
                due_at=due_at,
            )
            for i in source_ids
        ]
    )


def fail_with(source_id: int, error: BaseException) -> None:
    backends.failures[f"<test-{source_id}@helpdesk.test>"] = error
