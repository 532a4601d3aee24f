"""The customer emails' MIME class (core/mail.py)."""

import email
import email.policy

from core.mail import CustomerMail


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
    assert parsed.get_body(("plain",)).get_content().strip() == "Hello"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hello</p>"


def test_a_mail_with_one_body_is_not_multipart() -> None:
    mail = CustomerMail(subject="Hi", body="Hello", to=["b@example.com"])

    assert not mail.message().is_multipart()
