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
