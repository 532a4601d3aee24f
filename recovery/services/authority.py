"""Authority policies: what each person may grant on their own, and what is
left of it right now."""

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.backends import read_with_access
from accounts.models import User
from accounts.roles import Role
from core.errors import NotPermitted, RuleViolation
from core.money import MoneyError, is_currency, to_amount
from recovery.models import AuthorityPolicy, AuthorityPolicyChange, Period, RestitutionKind
from recovery.models.authority import Limit, SpendCounter, limit_label


@dataclass(frozen=True)
class Policy:
    per_incident_limit: Decimal
    per_period_limit: Decimal
    period: str
    per_customer_limit: Decimal
    allowed_kinds: tuple[str, ...]
    currency: str
    is_default: bool

    def as_record(self) -> dict[str, Any]:
        record = asdict(self)
        for name in ("per_incident_limit", "per_period_limit", "per_customer_limit"):
            record[name] = str(record[name])
        record["allowed_kinds"] = list(self.allowed_kinds)
        return record


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


def policy_for(user: User) -> Policy:
    """The user's policy, or their role's defaults when none is set; read
    with the signed-in user already (``accounts.backends.read_with_staff``)."""
    if read_with_access(user, "authority_policy"):
        return policy_from(user, getattr(user, "authority_policy", None))
    return policy_from(user, AuthorityPolicy.objects.filter(user=user).first())


def policies_for(users: Iterable[User]) -> dict[int, Policy]:
    """The policies of many users by id, in one query (read ``groups``
    through a prefetch for the role's defaults): for pages that list staff."""
    users = list(users)
    rows = {row.user_id: row for row in AuthorityPolicy.objects.filter(user__in=users)}
    return {user.pk: policy_from(user, rows.get(user.pk)) for user in users}


def policy_from(user: User, row: AuthorityPolicy | None) -> Policy:
    """The policy of ``user`` given their policy row (None when they have
    none), without a query when ``user.groups`` is prefetched."""
    if row is not None:
        return Policy(
            per_incident_limit=row.per_incident_limit,
            per_period_limit=row.per_period_limit,
            period=row.period,
            per_customer_limit=row.per_customer_limit,
            allowed_kinds=tuple(row.allowed_kinds),
            currency=row.currency,
            is_default=False,
        )
    role = user.role.value if user.role else None
    defaults: dict[str, Any] | None = settings.HELPDESK_AUTHORITY_DEFAULTS.get(role or "")
    if defaults is None:  # staff without a role: no authority at all
        return Policy(
            Decimal("0"),
            Decimal("0"),
            Period.WEEK,
            Decimal("0"),
            (),
            settings.DEFAULT_CURRENCY,
            True,
        )
    return Policy(
        per_incident_limit=Decimal(defaults["per_incident_limit"]),
        per_period_limit=Decimal(defaults["per_period_limit"]),
        period=defaults["period"],
        per_customer_limit=Decimal(defaults["per_customer_limit"]),
        allowed_kinds=tuple(defaults["allowed_kinds"]),
        currency=settings.DEFAULT_CURRENCY,
        is_default=True,
    )


def period_start(period: str, at: datetime | None = None) -> date:
    """The first day of the period containing ``at``, in the deployment's time zone."""
    # The deployment's zone, even where a view activated a user's zone for display.
    today = timezone.localdate(at or timezone.now(), timezone.get_default_timezone())
    if period == Period.DAY:
        return today
    if period == Period.WEEK:
        return today - timedelta(days=today.weekday())  # ISO weeks start on Monday
    return today.replace(day=1)


@dataclass(frozen=True)
class Remaining:
    policy: Policy
    period_start: date
    period_spent: Decimal
    period_remaining: Decimal


def authority_remaining(user: User, *, at: datetime | None = None) -> Remaining:
    """What the user has granted this period and what is left of it."""
    policy = policy_for(user)
    start = period_start(policy.period, at)
    counter = SpendCounter.objects.filter(
        scope=SpendCounter.Scope.GRANTER,
        subject_id=user.pk,
        period=policy.period,
        period_start=start,
        currency=policy.currency,
    ).first()
    return remaining_from(policy, start, counter.spent if counter else None)


def remaining_from(policy: Policy, start: date, spent: Decimal | None) -> Remaining:
    """What is left of ``policy`` once ``spent`` (None: nothing yet) is granted."""
    spent = spent if spent is not None else Decimal("0.00")
    return Remaining(policy, start, spent, max(policy.per_period_limit - spent, Decimal("0.00")))


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
        try:
            amount = to_amount(values[name], currency)
        except MoneyError as exc:
            raise RuleViolation(str(exc), field=name) from None
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
