from datetime import timedelta

from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from core.errors import RuleViolation
from tickets.models import Queue, SeverityTarget


@transaction.atomic
def queue_create(
    *,
    name: str,
    slug: str = "",
    members: list[User] | None = None,
    restrict_to_assignee: bool = False,
) -> Queue:
    """Create a queue; agents in ``members`` see and work its tickets."""
    name = name.strip()
    slug = slugify(slug or name)
    if not name or not slug:
        raise RuleViolation("A queue needs a name.", field="name")
    if Queue.objects.filter(slug=slug).exists():
        raise RuleViolation(f"A queue with the slug {slug!r} already exists.", field="slug")
    queue = Queue.objects.create(name=name, slug=slug, restrict_to_assignee=restrict_to_assignee)
    queue.members.set(members or [])
    return queue


@transaction.atomic
def queue_update(
    *,
    queue: Queue,
    name: str,
    slug: str,
    members: list[User],
    restrict_to_assignee: bool,
) -> Queue:
    """Rename a queue, change who works it and whether only the assignee acts."""
    locked = Queue.objects.select_for_update().get(pk=queue.pk)
    name = name.strip()
    slug = slugify(slug or name)
    if not name or not slug:
        raise RuleViolation("A queue needs a name.", field="name")
    if Queue.objects.filter(slug=slug).exclude(pk=locked.pk).exists():
        raise RuleViolation(f"A queue with the slug {slug!r} already exists.", field="slug")
    locked.name, locked.slug, locked.restrict_to_assignee = name, slug, restrict_to_assignee
    locked.save(update_fields=["name", "slug", "restrict_to_assignee"])
    locked.members.set(members)
    return locked


@transaction.atomic
def severity_target_set(
    *, target: SeverityTarget, acknowledge_within: timedelta, apologize_within: timedelta
) -> SeverityTarget:
    """Change how soon a severity's tickets must be acknowledged and, for a
    mishap, apologized for. The acknowledgement comes first, so its target
    cannot be later than the apology's; both are positive."""
    if acknowledge_within <= timedelta(0):
        raise RuleViolation(
            "The acknowledgement target must be above zero.", field="acknowledge_within"
        )
    if apologize_within < acknowledge_within:
        raise RuleViolation(
            "The apology target cannot come before the acknowledgement target.",
            field="apologize_within",
        )
    locked = SeverityTarget.objects.select_for_update().get(pk=target.pk)
    locked.acknowledge_within, locked.apologize_within = acknowledge_within, apologize_within
    locked.save(update_fields=["acknowledge_within", "apologize_within"])
    return locked
