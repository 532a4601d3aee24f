"""The generated desk's staff: agents, supervisors and queues, made through
the services (a few rows), named by prefix so the workloads find them."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User
from accounts.roles import Role
from accounts.services import staff_upsert
from bench.corpus import (
    FIRST_NAMES,
    LAST_NAMES,
)
from tickets.models import Queue
from tickets.services.queues import queue_create

AGENT_PREFIX = "bench-agent-"
SUPERVISOR_PREFIX = "bench-supervisor-"
QUEUE_PREFIX = "bench-"


@dataclass
class Staff:
    agents: list[User]
    supervisors: list[User]
    queues: list[Queue]
    members: dict[int, list[int]]  # queue id -> agent ids


def ensure_staff(*, tickets: int) -> Staff:
    """Agents, supervisors and queues through the services: a few rows."""
    agent_count = max(4, min(60, tickets // 5000))
    supervisor_count = max(1, agent_count // 8)
    queue_count = max(2, min(12, agent_count // 4))
    agents = [
        staff_upsert(
            username=f"{AGENT_PREFIX}{i:02d}",
            role=Role.AGENT,
            email=f"{AGENT_PREFIX}{i:02d}@staff.example.com",
            first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
            last_name=LAST_NAMES[(i * 7) % len(LAST_NAMES)],
        ).user
        for i in range(agent_count)
    ]
    supervisors = [
        staff_upsert(
            username=f"{SUPERVISOR_PREFIX}{i:02d}",
            role=Role.SUPERVISOR,
            email=f"{SUPERVISOR_PREFIX}{i:02d}@staff.example.com",
        ).user
        for i in range(supervisor_count)
    ]
    queues: list[Queue] = []
    members: dict[int, list[int]] = {}
    for q in range(queue_count):
        # Each agent works two queues; each queue has about agent_count / 2 members.
        team = [a for i, a in enumerate(agents) if q in (i % queue_count, (i + 1) % queue_count)]
        slug = f"{QUEUE_PREFIX}queue-{q + 1:02d}"
        queue = Queue.objects.filter(slug=slug).first()
        if queue is None:
            queue = queue_create(name=f"Bench queue {q + 1:02d}", slug=slug, members=team)
        else:
            queue.members.set(team)
        queues.append(queue)
        members[queue.pk] = [a.pk for a in team]
    return Staff(agents=agents, supervisors=supervisors, queues=queues, members=members)
