"""The customer emails' MIME class (core/mail.py)."""

import email
import email.policy
import smtplib
from email.generator import BytesGenerator
from email.policy import compat32
from io import BytesIO
from typing import Any

import pytest
from django.conf import settings as settings_module
from hypothesis import given, settings
from hypothesis import strategies as st

from core.mail import QUICK_FOLDING, CustomerMail
from tests.helpers import not_none
from tests.smtp import SmtpSink


def build(text: str = "Hello") -> CustomerMail:
    mail = CustomerMail(subject="Hi", body=text, from_email="a@example.com", to=["b@example.com"])
    mail.attach_alternative(f"<p>{text}</p>", "text/html")
    return mail


def test_its_boundary_is_random_and_the_mail_parses_with_both_bodies() -> None:
    first, second = build().message(), build().message()

    assert first.get_boundary().startswith("==helpdesk-")
    assert first.get_boundary() != second.get_boundary()
    parsed = email.message_from_bytes(first.as_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert not_none(parsed.get_body(("plain",))).get_content().strip() == "Hello"
    assert not_none(parsed.get_body(("html",))).get_content().strip() == "<p>Hello</p>"


def test_a_mail_with_one_body_is_not_multipart() -> None:
    mail = CustomerMail(subject="Hi", body="Hello", to=["b@example.com"])

    assert not mail.message().is_multipart()


# --- Header folding: the same bytes as Python's own, sooner ---------------------------


@settings(max_examples=400, deadline=None)
@given(
    name=st.sampled_from(["Subject", "From", "To", "List-Unsubscribe", "X-Helpdesk-Ticket"]),
    value=st.text(st.characters(blacklist_categories=["Cs"]), max_size=120)
    | st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120)
    # Words: where a long line can be folded.
    | st.lists(st.text("abcdefghij;,=<>", min_size=1, max_size=12), max_size=16).map(" ".join),
)
def test_a_header_is_folded_as_pythons_own_policy_folds_it(name: str, value: str) -> None:
    try:
        expected: bytes | type[Exception] = compat32.fold_binary(name, value)
    except Exception as exc:  # noqa: BLE001 - whatever Python's raises, ours raises too
        expected = type(exc)
    try:
        folded: bytes | type[Exception] = QUICK_FOLDING.fold_binary(name, value)
    except Exception as exc:  # noqa: BLE001
        folded = type(exc)

    assert folded == expected


def test_a_whole_mail_comes_out_byte_for_byte_as_before() -> None:
    long_link = "https://desk.example.com/unsubscribe/" + "x" * 120 + "/"
    mail = CustomerMail(
        subject="Votre commande est arrivée en retard, et nous en sommes désolés [HD-000042]",
        body="Bonjour Zoë,\n\n" + "Une très longue ligne. " * 60,
        from_email="Joana Souza via Desk <desk@example.com>",
        to=["Zoë Ångström <zoe@example.com>"],
        headers={"Message-ID": "<followup-42@desk.example.com>", "List-Unsubscribe": long_link},
    )
    mail.attach_alternative("<p>Bonjour</p>", "text/html")
    mime = mail.message()

    assert mime.policy is QUICK_FOLDING
    assert mime.as_bytes(linesep="\r\n") == flattened(mime, compat32)


def flattened(mime: Any, policy: Any) -> bytes:
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=policy).flatten(mime, linesep="\r\n")
    return out.getvalue()


# --- The SMTP backend: Django's, its envelope addresses remembered ---------------------


def test_the_backend_sends_with_the_envelope_django_would_give(smtp_sink: SmtpSink) -> None:
    assert settings_module.EMAIL_BACKEND == "core.mail.SMTPBackend"
    for n in range(2):  # the second from the remembered addresses
        mail = CustomerMail(
            subject=f"Hi {n}",
            body="Hello",
            from_email="Désk <desk@example.com>",
            to=["Zoë <zoe@exämple.com>", "b@example.com"],
        )
        assert mail.send() == 1

    envelopes = smtp_sink.handler.envelopes
    assert [e.mail_from for e in envelopes] == ["desk@example.com"] * 2
    assert [e.rcpt_tos for e in envelopes] == [["zoe@xn--exmple-cua.com", "b@example.com"]] * 2
    assert [m["Subject"] for m in smtp_sink.received] == ["Hi 0", "Hi 1"]


def test_a_refusal_reaches_the_sender(smtp_sink: SmtpSink) -> None:
    smtp_sink.handler.refuse_next = 1
    mail = CustomerMail(subject="Hi", body="Hello", from_email="desk@example.com", to=["b@x.com"])

    with pytest.raises(smtplib.SMTPDataError):
        mail.send()
    assert mail.send(fail_silently=True) == 1  # the next one goes
