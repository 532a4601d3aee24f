"""The ingest workload: raw inbound emails (new tickets, replies threading by
In-Reply-To, auto-replies, attachments) through ``inbound_receive`` one at a
time; the floor parses the same bytes and stores them with one INSERT."""

import time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from django.db import connection

from bench.measure import Result, Timing, counting_queries
from bench.workloads import Context, workload
from bench.workloads.write.tags import run_tag
from inbound.services import inbound_receive

KINDS = ("new ticket", "reply", "auto-reply", "attachment")
PARAGRAPH = (
    "I ordered the blue kettle three weeks ago and it still has not arrived. The tracking "
    "page has said 'in transit' for ten days and nobody answers the phone. "
)


def _mail(
    *,
    sender: str,
    subject: str,
    body: str,
    message_id: str,
    in_reply_to: str = "",
    headers: dict[str, str] | None = None,
    attachment: bytes = b"",
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "Helpdesk <help@desk.example>"
    message["Subject"] = subject
    message["Date"] = "Mon, 06 Jan 2025 09:30:00 +0100"
    message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
        message["References"] = in_reply_to
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    message.add_alternative(
        "<html><body>" + "".join(f"<p>{line}</p>" for line in body.splitlines()) + "</body></html>",
        subtype="html",
    )
    if attachment:
        message.add_attachment(
            attachment, maintype="image", subtype="png", filename="broken-kettle.png"
        )
    return message.as_bytes()


def _inbound_round(tag: str, n: int) -> list[tuple[str, bytes]]:
    """One round of the mix, as mail clients write it: a new ticket, the
    customer's reply threading by In-Reply-To, an out-of-office reply, and a
    new ticket with a photo attached."""
    customer = f"Sam Doe {n} <sam-{tag}-{n}@customer.example>"
    first = f"<order-{tag}-{n}@customer.example>"
    photo = bytes(range(256)) * 80  # 20 KB
    return [
        (
            "new ticket",
            _mail(
                sender=customer,
                subject=f"Order {n}: where is my kettle?",
                body=PARAGRAPH * 3,
                message_id=first,
            ),
        ),
        (
            "reply",
            _mail(
                sender=customer,
                subject=f"Re: Order {n}: where is my kettle?",
                body="One more thing: I need it before Friday.\n\n> " + PARAGRAPH,
                message_id=f"<reply-{tag}-{n}@customer.example>",
                in_reply_to=first,
            ),
        ),
        (
            "auto-reply",
            _mail(
                sender=customer,
                subject="Out of office: back on Monday",
                body="I am away until Monday and will read your message then.",
                message_id=f"<away-{tag}-{n}@customer.example>",
                headers={"Auto-Submitted": "auto-replied", "Precedence": "auto_reply"},
            ),
        ),
        (
            "attachment",
            _mail(
                sender=f"Kim Roe {n} <kim-{tag}-{n}@customer.example>",
                subject="The kettle arrived broken (photo attached)",
                body="The handle came off the first time I used it. Photo attached.",
                message_id=f"<photo-{tag}-{n}@customer.example>",
                attachment=photo,
            ),
        ),
    ]


SCRATCH = "bench_scratch_inbound"


@workload("ingest")
def ingest(context: Context) -> Result:
    tag = run_tag()
    warmup = [m for n in range(2) for m in _inbound_round(tag, -1 - n)]
    mail = [m for n in range(context.repeat) for m in _inbound_round(tag, n)]
    parser = BytesParser(policy=policy.default)

    for _, raw in warmup:
        inbound_receive(raw=raw, source="bench")
    work = Timing()
    queries: dict[str, list[int]] = {kind: [] for kind in KINDS}
    outcomes: dict[str, int] = {}
    started = time.perf_counter()
    for kind, raw in mail:
        with counting_queries() as count:
            before = time.perf_counter()
            received = inbound_receive(raw=raw, source="bench")
            work.samples.append(time.perf_counter() - before)
        queries[kind].append(count[0])
        outcome = received.email.outcome or received.email.status
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    work.wall = time.perf_counter() - started
    work.operations = len(mail)
    work.queries = sum(sum(q) for q in queries.values()) / len(mail)

    floor = Timing()
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {SCRATCH} "
            "(id bigserial PRIMARY KEY, raw bytea NOT NULL, "
            "received_at timestamptz NOT NULL DEFAULT now())"
        )
        try:
            insert = f"INSERT INTO {SCRATCH} (raw) VALUES (%s)"  # noqa: S608 (our constant name)
            for _, raw in warmup:
                parser.parsebytes(raw)
                cursor.execute(insert, [raw])
            started = time.perf_counter()
            for _, raw in mail:
                before = time.perf_counter()
                parser.parsebytes(raw)
                cursor.execute(insert, [raw])  # autocommit: one transaction each, as the service's
                floor.samples.append(time.perf_counter() - before)
            floor.wall = time.perf_counter() - started
            floor.operations = len(mail)
        finally:
            cursor.execute(f"DROP TABLE IF EXISTS {SCRATCH}")
    floor.queries = 1

    return Result(
        name="ingest",
        description=(
            f"{len(mail)} raw emails through inbound_receive, one at a time: rounds of a new "
            "ticket, a reply threading by In-Reply-To, an auto-reply, a new ticket with a 20 KB "
            "attachment (text and HTML each). Floor: BytesParser(policy=default) on the same "
            "bytes plus one INSERT of them into a scratch table."
        ),
        workload=work,
        floor=floor,
        notes=[
            "outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
            "queries per message: "
            + ", ".join(f"{kind} {sum(q) / len(q):.0f}" for kind, q in queries.items() if q),
        ],
        targets={"ratio": 0.3},
    )
