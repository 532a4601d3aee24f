"""A fresh tag for a write run's rows (usernames, customer emails, message
ids), so reruns on the same database never collide."""

import uuid


def run_tag() -> str:
    return uuid.uuid4().hex[:8]
