from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models

from tickets.models.ticket import Ticket

# The text search configuration of the documents (``tickets_search_document``
# in migration tickets/0017): queries must use the same one to match words.
SEARCH_CONFIG = "english"


class TicketSearch(models.Model):
    """What the search matches of one ticket: its subject (weight A) and every
    message, notes included (B), in one ``tsvector`` with its GIN index.

    It lives in a table of its own, not on the ticket's row, for the heap: a
    document is about 1.6 KB, stored inline (compressed, too small to be moved
    out of line), and on ``tickets_ticket`` it made the table 2.7 times the
    size (216 MB for 200,000 tickets, 80 MB without), so every list that
    counts or scans tickets read 2.7 times the pages. Here only the search
    reads it, by the GIN index or by the ticket's id.

    Kept by the database's triggers (migration tickets/0018), whichever path
    writes the ticket or the message: a ticket's INSERT creates its row, a
    message's INSERT appends its words, a new subject recomputes it. Nothing
    in Python writes it. PostgreSQL only: on SQLite, the local demo, the table
    stays empty and the search matches substrings instead."""

    ticket = models.OneToOneField(
        Ticket, primary_key=True, on_delete=models.CASCADE, related_name="search"
    )
    document = SearchVectorField()

    class Meta:
        indexes = [GinIndex(fields=["document"], name="tickets_ticketsearch_document")]

    def __str__(self) -> str:
        return f"search document of ticket {self.ticket_id}"
