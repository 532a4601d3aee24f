"""Authority policies: who may set a person's limits, and setting them.
What each person may grant and what is left of it are reads:
``recovery.selectors`` (``policy_for``, ``authority_remaining``)."""

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction

from accounts.models import User
from accounts.roles import Role
from core.errors import NotPermitted, RuleViolation
from core.money import amount_for_field, is_currency
from recovery.models import AuthorityPolicy, AuthorityPolicyChange, Period, RestitutionKind
from recovery.models.authority import Limit, limit_label
from recovery.selectors import Policy, policy_for


def limits_in_words(names: Sequence[str], policy: Policy, *, whose: str = "their") -> str:
    """The limits named (``limits_exceeded``) as a person reads them, each
    with its amount: "their limit per incident (100.00 USD) and their limit
    per customer per week (300.00 USD)"."""
    parts = []
    for name in names:
        words = f"{whose} {limit_label(name, policy.period)}"
        if name in Limit.values:
            words += f" ({getattr(policy, name)} {policy.currency})"
        parts.append(words)
    if len(parts) < 2:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


_FIELDS = (
    "per_incident_limit",
    "per_period_limit",
    "period",
    "per_customer_limit",
    "allowed_kinds",
    "currency",
)


def policy_setter_refusal(*, actor: User, user: User) -> str | None:
    """Why ``actor`` may not set ``user``'s limits, or None when they may.

    Supervisors set agents' policies; admins set anyone's but their own;
    nobody sets their own: a limit is a check on its holder, so it is set by
    someone above them (an admin's by another admin)."""
    if not actor.has_perm("recovery.change_authoritypolicy"):
        return "Only supervisors and admins change authority policies."
    if actor.pk == user.pk:
        return "Nobody sets their own authority; ask another supervisor or an admin."
    if actor.is_superuser or actor.role == Role.ADMIN:
        return None
    if user.role != Role.AGENT:
        return "Supervisors set agents' authority; an admin sets a supervisor's or an admin's."
    return None


@transaction.atomic
def authority_policy_set(*, user: User, actor: User, values: dict[str, Any]) -> AuthorityPolicy:
    """Set a staff member's limits, where ``policy_setter_refusal`` allows it;
    every change is recorded with the old and new values."""
    refusal = policy_setter_refusal(actor=actor, user=user)
    if refusal is not None:
        raise NotPermitted(refusal)
    if not (user.is_staff and user.is_active):
        raise RuleViolation("Authority is for active staff only.")
    missing = [name for name in _FIELDS if name not in values]
    if missing:
        raise RuleViolation(f"A policy needs {', '.join(missing)}.", field=missing[0])
    cleaned = _clean(values)

    User.objects.select_for_update().get(pk=user.pk)  # one change at a time per person
    before = policy_for(user).as_record()
    policy, _ = AuthorityPolicy.objects.update_or_create(user=user, defaults=cleaned)
    after = policy_for(user).as_record()
    if before != after:
        AuthorityPolicyChange.objects.create(user=user, changed_by=actor, old=before, new=after)
    return policy


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    # The console's form may send "eur"; the API's field takes capitals only.
    currency = str(values["currency"]).upper()
    if not is_currency(currency):
        raise RuleViolation(
            f"{currency!r} is not an ISO 4217 currency code in use, such as EUR.",
            field="currency",
        )
    cleaned: dict[str, Any] = {"currency": currency}
    for name in ("per_incident_limit", "per_period_limit", "per_customer_limit"):
        amount = amount_for_field(values[name], currency, field=name)
        if amount < 0:
            raise RuleViolation("A limit cannot be negative.", field=name)
        if amount >= Decimal("1e10"):
            raise RuleViolation("A limit must be below 10,000,000,000.", field=name)
        cleaned[name] = amount
    if values["period"] not in Period.values:
        raise RuleViolation(f"The period is one of {', '.join(Period.values)}.", field="period")
    cleaned["period"] = values["period"]
    kinds = values["allowed_kinds"]
    if not isinstance(kinds, list) or not all(k in RestitutionKind.values for k in kinds):
        raise RuleViolation(
            f"Allowed kinds are a list of: {', '.join(RestitutionKind.values)}.",
            field="allowed_kinds",
        )
    cleaned["allowed_kinds"] = sorted(set(kinds))
    return cleaned
