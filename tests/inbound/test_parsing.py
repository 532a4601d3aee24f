"""Decoding: RFC 2047 headers, quoted-printable and base64 bodies, every
character set Python knows, and what to do with one it does not."""

import base64
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

from inbound.bodies import text_from_html
from inbound.parsing import PARSING_POLICY, parse, sanitize_html


def test_rfc2047_encoded_words_in_the_subject_and_sender() -> None:
    raw = (
        b"From: =?utf-8?q?In=C3=AAs_Duarte?= <ines@example.pt>\r\n"
        b"Subject: =?iso-8859-1?q?Encomenda_n=E3o_chegou?= =?utf-8?b?IOKAlCDinJM=?=\r\n"
        b"Message-ID: <x1@example.pt>\r\n\r\nOla\r\n"
    )

    parsed = parse(raw)

    assert parsed.sender_name == "Inês Duarte"
    assert parsed.subject == "Encomenda não chegou — ✓"


def test_quoted_printable_latin1_body() -> None:
    raw = (
        b"From: lena@example.de\r\nSubject: Lieferung\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"Die Torte kam einen Tag zu sp=E4t. Gr=FC=DFe\r\n"
    )

    assert parse(raw).text == "Die Torte kam einen Tag zu spät. Grüße"


def test_base64_bodies_in_asian_and_cyrillic_character_sets() -> None:
    for charset, text in [
        ("shift_jis", "荷物が届きません"),
        ("koi8-r", "Посылка не пришла"),
        ("gb2312", "包裹没有到"),
    ]:
        encoded = base64.b64encode(text.encode(charset))
        raw = (
            b"From: someone@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
            b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n" + encoded + b"\r\n"
        )

        assert parse(raw).text == text, charset


def test_an_unknown_character_set_is_read_as_utf8_and_noted() -> None:
    raw = (
        b"From: someone@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=x-made-up\r\n\r\nCaf\xc3\xa9\r\n"
    )

    parsed = parse(raw)

    assert parsed.text == "Café"
    assert parsed.problems == ["unknown character set 'x-made-up'; read as UTF-8"]


def test_eight_bit_text_without_a_declared_charset_does_not_crash() -> None:
    raw = b"From: someone@example.com\r\nSubject: caf\xe9\r\n\r\nna\xefve body\r\n"

    parsed = parse(raw)

    assert parsed.sender_email == "someone@example.com"
    assert "body" in parsed.text


def test_garbage_is_a_message_with_problems_not_an_exception() -> None:
    parsed = parse(b"\x00\xff\xfe not an email at all \x00")

    assert parsed.sender_email == ""


def test_html_is_sanitized_and_text_derived() -> None:
    html = '<p onclick="x()">Hi <a href="javascript:alert(1)">me</a> <a href="https://ok.example">ok</a></p>'

    clean = sanitize_html(html)

    assert "onclick" not in clean
    assert "javascript:" not in clean
    assert 'href="https://ok.example"' in clean
    assert text_from_html("<p>One</p><p>Two &amp; three</p>") == "One\n\nTwo & three"


def test_reply_to_is_preferred_to_from() -> None:
    raw = (
        b"From: noreply-relay@shop.example\r\nReply-To: Pat <pat@example.com>\r\n"
        b"Subject: x\r\n\r\nhi\r\n"
    )

    assert parse(raw).sender_email == "pat@example.com"


def test_headers_read_as_the_default_policy_reads_them_however_often() -> None:
    """Parsed header values are reused (PARSING_POLICY); what is read must be
    what ``policy.default`` reads, the first time and every time after."""
    raw = (
        b"From: =?utf-8?q?In=C3=AAs_Duarte?= <ines@example.pt>\r\n"
        b"Subject: =?iso-8859-1?q?Encomenda_n=E3o_chegou?=\r\n"
        b"References: " + b" ".join(b"<%d@example.pt>" % n for n in range(60)) + b"\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\nOl\xe1\r\n"
        b"--b1\r\nContent-Type: application/pdf; name*=utf-8''fatura%20n%C2%BA1.pdf\r\n"
        b"Content-Disposition: attachment\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"JVBERi0=\r\n--b1--\r\n"
    )
    expected = BytesParser(policy=policy.default).parsebytes(raw)

    for _ in range(3):
        message = BytesParser(policy=PARSING_POLICY).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        assert isinstance(expected, EmailMessage)
        for name in ("From", "Subject", "References", "Content-Type"):
            assert str(message[name]) == str(expected[name])
            assert type(message[name]).__bases__ == type(expected[name]).__bases__
        parts = [(p.get_content_type(), p.get_filename()) for p in message.iter_parts()]
        assert parts == [(p.get_content_type(), p.get_filename()) for p in expected.iter_parts()]
    assert parse(raw).attachments[0].name == "fatura nº1.pdf"
    assert parse(raw).text == "Olá"
