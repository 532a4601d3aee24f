"""The trust profile workload: ``GET /api/v1/customers/<id>/trust/`` for the
customer with the longest history; the floor reads the same figures from
the same tables in one SQL query."""

from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Customer
from bench.measure import Result
from bench.staff import SUPERVISOR_PREFIX
from bench.workloads import Context, workload
from bench.workloads.read.measuring import (
    MissingData,
    api_client,
    generated_staff,
    get_call,
    measure_read,
    raw_call,
)
from recovery.trust.figures import QUARTER, YEAR
from tickets.models import Kind
from tickets.models.ticket import OPEN_STATUSES

TRUST_TARGETS: dict[str, float] = {"p95_ms": 50, "queries": 3}

# The profile's figures (recovery.trust.figures) for one customer, each
# table read once, as plain columns rather than JSON objects.
TRUST_SQL = """
SELECT c.id, t.*, p.*, lp.due_at, lp.fulfilled_at, money.*, f.*, lf.rating, lf.created_at,
       o.created_at
FROM accounts_customer c
CROSS JOIN LATERAL (
  SELECT count(*) AS tickets,
    count(*) FILTER (WHERE kind = 'mishap') AS mishaps,
    count(*) FILTER (WHERE kind = 'mishap' AND created_at >= %(quarter)s) AS mishaps_90,
    count(*) FILTER (WHERE kind = 'mishap' AND created_at >= %(year)s) AS mishaps_365,
    min(created_at) FILTER (WHERE kind = 'mishap' AND created_at >= %(quarter)s) AS first_90,
    count(*) FILTER (WHERE is_repeat_failure AND created_at >= %(year)s) AS repeats,
    count(*) FILTER (WHERE kind = 'mishap' AND status = ANY(%(open)s)) AS open_mishaps,
    count(*) FILTER (WHERE kind = 'mishap' AND status = 'rebuilding') AS rebuilding,
    min(resolved_at) FILTER (WHERE kind = 'mishap' AND status = 'rebuilding') AS rebuilding_since,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM acknowledged_at - created_at))
      FILTER (WHERE kind = 'mishap' AND created_at >= %(year)s) AS to_acknowledge,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY EXTRACT(EPOCH FROM apologized_at - created_at))
      FILTER (WHERE kind = 'mishap' AND created_at >= %(year)s) AS to_apologize
  FROM tickets_ticket WHERE customer_id = c.id) t
CROSS JOIN LATERAL (
  SELECT count(*) AS made,
    count(*) FILTER (WHERE m.fulfilled_at <= m.due_at) AS kept,
    count(*) FILTER (WHERE m.fulfilled_at > m.due_at
                     OR (m.fulfilled_at IS NULL AND m.due_at < %(now)s)) AS late
  FROM tickets_commitment m JOIN tickets_ticket mt ON mt.id = m.ticket_id
  WHERE mt.customer_id = c.id AND m.due_at >= %(year)s) p
LEFT JOIN LATERAL (
  SELECT m.due_at, m.fulfilled_at
  FROM tickets_commitment m JOIN tickets_ticket mt ON mt.id = m.ticket_id
  WHERE mt.customer_id = c.id AND m.due_at >= %(year)s
    AND (m.fulfilled_at IS NOT NULL OR m.due_at <= %(now)s)
  ORDER BY m.due_at DESC, m.id DESC LIMIT 1) lp ON TRUE
CROSS JOIN LATERAL (
  SELECT sum(paid) AS paid, sum(loss) AS loss FROM (
    SELECT sum(r.amount) AS paid, max(r.customer_loss) AS loss
    FROM recovery_restitution r JOIN tickets_ticket rt ON rt.id = r.ticket_id
    WHERE rt.customer_id = c.id AND rt.kind = 'mishap' AND rt.created_at >= %(year)s
      AND r.status IN ('granted', 'approved')
    GROUP BY r.ticket_id HAVING max(r.customer_loss) IS NOT NULL) per_mishap) money
CROSS JOIN LATERAL (
  SELECT count(*) AS ratings, avg(rating) AS average FROM recovery_feedback
  WHERE customer_id = c.id AND created_at >= %(year)s) f
LEFT JOIN LATERAL (
  SELECT rating, created_at FROM recovery_feedback
  WHERE customer_id = c.id AND created_at >= %(year)s
  ORDER BY created_at DESC, id DESC LIMIT 1) lf ON TRUE
LEFT JOIN recovery_followupoptout o ON o.customer_id = c.id
WHERE c.id = %(customer)s
"""


def _longest_history() -> Customer:
    """The customer with the most tickets among those with a mishap (ties:
    the lowest id): the profile that reads the most rows."""
    customer = (
        Customer.objects.annotate(
            ticket_count=Count("tickets"),
            mishap_count=Count("tickets", filter=Q(tickets__kind=Kind.MISHAP)),
        )
        .filter(mishap_count__gt=0)
        .order_by("-ticket_count", "pk")
        .only("pk")
        .first()
    )
    if customer is None:
        raise MissingData("No customer with a mishap: run `manage.py generate_load_data` first.")
    return customer


@workload("customer_trust_api")
def customer_trust_api(context: Context) -> Result:
    """``GET /api/v1/customers/<id>/trust/`` as a supervisor: the level, its
    reasons and every figure, computed in one query. The floor reads the same
    figures from the same tables in one SQL query."""
    supervisor = generated_staff(SUPERVISOR_PREFIX)
    customer = _longest_history()
    now = timezone.now()
    params = {
        "customer": customer.pk,
        "now": now,
        "year": now - YEAR,
        "quarter": now - QUARTER,
        "open": [str(status) for status in OPEN_STATUSES],
    }
    count = customer.ticket_count  # type: ignore[attr-defined]
    return measure_read(
        "customer_trust_api",
        f"API trust profile of the customer with the longest history ({count} tickets)",
        context,
        get_call(api_client(supervisor), f"/api/v1/customers/{customer.pk}/trust/"),
        raw_call(TRUST_SQL, params),
        TRUST_TARGETS,
    )
