"""Read workloads: the queue list, a ticket with a long conversation, search,
a customer's trust profile, the trust figures (the metrics API and the
console's dashboard).

Each request goes through the whole Django stack in-process, with Django's
test ``Client`` (no network, no web server: what is measured is the desk's
own work, URL routing to rendered bytes). The API is called as an integration
calls it, with a token; the console page with a signed-in agent's session.
Each floor fetches the same rows with raw SQL on the psycopg connection under
Django's, so both sides pay the same round trips to the same database.

They read data made by ``generate_load_data`` (``bench.generate``).

Importing this package registers them, in this order: the queue lists, one
ticket with a long conversation, search, a customer's trust profile, the
trust figures.
"""

# Imported in this order, the order they register in (and a full run takes).
from bench.workloads.read import (  # noqa: F401, I001
    queue_list,
    ticket_detail,
    search,
    customer_trust,
    dashboard,
)
