from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from core.errors import RuleViolation
from tickets.models import Queue


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
