"""What a restitution costs the budgets it is held to: the spend counters
(see ``SpendCounter``) a grant, an approval or a void charges or gives back.
Which counters a grant charges is a read the grant room shares
(``recovery.selectors.grant_room.counters_for``).

Limits are enforced on the counters, read under their row locks, taken in
one order by every grant, approval and void (ticket, then its counters:
ticket, customer, payer): any number of simultaneous grants cannot spend
past a limit, nor wait on each other in a cycle.
"""

from decimal import Decimal

from django.db import connection
from django.db.models import Case, F, Value, When

from accounts.models import User
from core.inserts import inserted
from core.prepared import preparing
from recovery.models import Restitution, SpendEntry
from recovery.models.authority import SpendCounter
from recovery.selectors.grant_room import ZERO, Counter, CounterKey


class LimitsExceeded(Exception):
    def __init__(self, limits: list[str]) -> None:
        self.limits = limits


# One statement creates the counters that are missing, locks them all in the
# order of its rows (ON CONFLICT DO UPDATE locks the rows it does not update
# too), and adds the amount to each that stays within its limit. A parallel
# grant of the same payer waits at the first counter the two share, so the
# limits hold however many grants run at once, and locks are always taken in
# one order (a void's too), so none waits on another in a cycle. The same SQL
# on PostgreSQL and on the SQLite of the local demo.
_CHARGE = """
INSERT INTO recovery_spendcounter AS counter
    (scope, subject_id, period, period_start, currency, spent)
VALUES {rows}
ON CONFLICT (scope, subject_id, period, period_start, currency)
DO UPDATE SET spent = counter.spent + excluded.spent
WHERE counter.spent + excluded.spent <= COALESCE(
    CASE {limits} END, counter.spent + excluded.spent
)
RETURNING id, scope, subject_id, period, spent
"""
_ROW = "(%s, %s, %s, %s, %s, CAST(%s AS DECIMAL))"
_LIMIT = (
    "WHEN counter.scope = %s AND counter.subject_id = %s AND counter.period = %s "
    "THEN CAST(%s AS DECIMAL)"
)


def charge(*, counters: list[Counter], currency: str, amount: Decimal) -> list[int]:
    """Add the amount to every counter and return their ids, in order; or
    raise with the limits it would break, with every counter as it was (but
    for any it had to create, left at zero). The counters stay locked until
    the transaction ends."""
    rows = [
        (c.scope, c.subject_id, c.period, c.period_start, currency, str(amount)) for c in counters
    ]
    limited = [c for c in counters if c.limit is not None]
    limits = [(c.scope, c.subject_id, c.period, str(c.limit)) for c in limited]
    sql = _CHARGE.format(
        rows=", ".join([_ROW] * len(rows)), limits=" ".join([_LIMIT] * len(limits))
    )
    # Prepared where compiled queries are (core.prepared): its text is the
    # same for every grant under one policy.
    with preparing(connection).cursor() as cursor:
        cursor.execute(sql, [value for row in rows + limits for value in row])
        charged = {
            (scope, subject_id, period): (pk, Decimal(str(spent)))
            for pk, scope, subject_id, period, spent in cursor.fetchall()
        }
    exceeded = []
    for counter in counters:
        found = charged.get((counter.scope, counter.subject_id, counter.period))
        # Not returned: over its limit. Created now with the amount: over it
        # if the amount alone is.
        if found is None or (counter.limit is not None and found[1] > counter.limit):
            exceeded.append(counter.limit_name)
    if exceeded:
        SpendCounter.objects.filter(pk__in=[pk for pk, _ in charged.values()]).update(
            spent=F("spent") - amount
        )
        raise LimitsExceeded(exceeded)
    return [charged[(c.scope, c.subject_id, c.period)][0] for c in counters]


def limits_over(
    *, counters: list[Counter], now: dict[CounterKey, tuple[int, Decimal]], amount: Decimal
) -> list[str]:
    """The limits ``amount`` would break on top of what the counters hold
    ``now`` (a counter not yet created holds nothing): the check the
    charge makes under the counters' locks, on a read without them."""
    return [
        counter.limit_name
        for counter in counters
        if counter.limit is not None
        and now.get((counter.scope, counter.subject_id, counter.period), (0, ZERO))[1] + amount
        > counter.limit
    ]


def book(restitution: Restitution, *, payer: User, amount: Decimal) -> None:
    inserted(
        SpendEntry(
            user=payer,
            restitution=restitution,
            ticket_id=restitution.ticket_id,
            customer_id=restitution.customer_id,
            amount=amount,
            currency=restitution.currency,
        )
    )


def refund(restitution: Restitution, *, payer_id: int) -> None:
    """Give the restitution's amount back to every counter it was charged to,
    locked in the order of its charge (the order every grant takes), and
    book the refund to the payer."""
    counter_ids = restitution.counter_ids
    in_order = Case(*(When(pk=pk, then=Value(n)) for n, pk in enumerate(counter_ids)))
    list(SpendCounter.objects.select_for_update().filter(pk__in=counter_ids).order_by(in_order))
    SpendCounter.objects.filter(pk__in=counter_ids).update(spent=F("spent") - restitution.amount)
    SpendEntry.objects.create(
        user_id=payer_id,
        restitution=restitution,
        ticket_id=restitution.ticket_id,
        customer_id=restitution.customer_id,
        amount=-restitution.amount,
        currency=restitution.currency,
    )
