"""The write workloads, each beside its floor in the same run: restitution
grants by concurrent API clients on one budget (``grants``), follow-up
dispatch by a Celery worker to an SMTP sink (``dispatch``), and inbound mail
ingest (``ingest``).

Each creates the data it needs through the services (tagged with a fresh
run id, so reruns on the same database never collide) and runs against
real servers on 127.0.0.1 that it starts and always stops (``bench.servers``).

Importing this package registers the three, in this order.
"""

# Imported in this order, the order they register in (and a full run takes).
from bench.workloads.write import (  # noqa: F401, I001
    grants,
    dispatch,
    ingest,
)
