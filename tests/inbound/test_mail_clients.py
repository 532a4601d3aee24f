"""Messages as real mail clients write them (issue 16): every sender a
person can be answered at becomes a ticket under their name; the body is
what a mail client shows; attachments keep whole names. The real messages
these come from are in the corpus (tests/inbound/test_corpus_real_world.py);
these are the defects, one by one, in a few lines each."""

import pytest

from accounts.models import User
from core.errors import RuleViolation
from inbound.models import InboundEmail
from inbound.parsing import parse
from inbound.services import inbound_receive, inbound_retry

pytestmark = pytest.mark.django_db


def message(headers: str, body: str) -> bytes:
    text = (headers.strip() + "\n\n" + body).replace("\r\n", "\n")
    return text.replace("\n", "\r\n").encode()


# --- Senders -------------------------------------------------------------------------------


def test_an_internationalised_sender_opens_a_ticket_under_their_address() -> None:
    raw = message('From: "Jöhn Doe" <jdöe@mächine.example>\nSubject: Hi', "body")

    email = inbound_receive(raw=raw, source="pipe").email

    assert email.status == InboundEmail.Status.PROCESSED
    assert email.ticket is not None
    assert (email.ticket.customer.name, email.ticket.customer.email) == (
        "Jöhn Doe",
        "jdöe@mächine.example",
    )


def test_a_from_without_angle_brackets_is_read_as_a_person_would() -> None:
    parsed = parse(message("From: Big Bug bb@bug.com\nSubject: Hi", "foo bar"))

    assert (parsed.sender_name, parsed.sender_email) == ("Big Bug", "bb@bug.com")


def test_a_name_written_as_a_comment_is_the_name() -> None:
    parsed = parse(message("From: jo@example.com (Jo Bloggs)\nSubject: Hi", "x"))

    assert (parsed.sender_name, parsed.sender_email) == ("Jo Bloggs", "jo@example.com")


def test_the_name_is_from_from_and_the_address_from_reply_to() -> None:
    parsed = parse(
        message(
            'From: "Discover Card" <discover@service.example>\n'
            "Reply-To: discovercard_newsflash@news.example\nSubject: News",
            "x",
        )
    )

    assert parsed.sender_name == "Discover Card"
    assert parsed.sender_email == "discovercard_newsflash@news.example"


def test_reply_to_names_the_person_only_when_from_has_no_name() -> None:
    parsed = parse(message("From: a@x.example\nReply-To: Ann Lee <ann@x.example>", "x"))

    assert (parsed.sender_name, parsed.sender_email) == ("Ann Lee", "ann@x.example")


def test_an_address_nobody_can_write_to_is_quarantined_and_a_retry_is_refused(
    supervisor: User,
) -> None:
    raw = message("From: xxxxx@xxxxx\nSubject: Hi", "body")

    email = inbound_receive(raw=raw, source="pipe").email

    assert email.status == InboundEmail.Status.QUARANTINED
    assert "'xxxxx@xxxxx' cannot be written to" in email.reason
    assert "trying again cannot help" in email.reason
    assert not email.retry_can_help
    with pytest.raises(RuleViolation, match="Trying again cannot help"):
        inbound_retry(email=email, actor=supervisor)


# --- Bodies --------------------------------------------------------------------------------

OUTLOOK = """From: Pat <pat@example.com>
Subject: Outlook
MIME-Version: 1.0
Content-Type: multipart/alternative;
\tboundary=----=_NextPart_000_0093_01C81419.EB75E850

------=_NextPart_000_0093_01C81419.EB75E850
Content-Type: text/plain; charset=us-ascii

This is an outlook test
------=_NextPart_000_0093_01C81419.EB75E850
Content-Type: text/html; charset=us-ascii

<html><body><p>This is an <b>outlook</b> test</p></body></html>
------=_NextPart_000_0093_01C81419.EB75E850--
"""


def test_an_unquoted_outlook_boundary_still_splits_the_parts() -> None:
    parsed = parse(message(*OUTLOOK.split("\n\n", 1)))

    assert parsed.text == "This is an outlook test"
    assert "<b>outlook</b>" in parsed.html
    assert parsed.attachments == []


def test_an_inline_text_part_with_a_filename_is_the_body() -> None:
    raw = message(
        "From: pat@example.com\nSubject: Fabel\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"',
        "--b\nContent-Type: text/plain; charset=utf-8\n"
        'Content-Disposition: inline; filename="fabel.txt"\n\n'
        "Der Fuchs und der Rabe.\n--b--\n",
    )

    parsed = parse(raw)

    assert parsed.text == "Der Fuchs und der Rabe."
    assert parsed.attachments == []


def test_one_alternative_is_shown_and_html_in_disguise_is_not_shown_as_text() -> None:
    raw = message(
        "From: pat@example.com\nSubject: Twice\nMIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="b"',
        "--b\nContent-Type: text/plain; charset=utf-8\n\nHello plain\n"
        '--b\nContent-Type: text/plain; charset=utf-8\n\n<div dir="ltr">Hello plain</div>\n'
        "--b--\n",
    )

    parsed = parse(raw)

    assert parsed.text == "Hello plain"
    assert '<div dir="ltr">' in parsed.html


def test_the_html_alternative_is_used_when_the_plain_one_is_empty() -> None:
    raw = message(
        "From: pat@example.com\nSubject: Empty\nMIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="b"',
        "--b\nContent-Type: text/plain\n\n \n"
        "--b\nContent-Type: text/html\n\n<p>Where is <i>my</i> order?</p>\n--b--\n",
    )

    assert parse(raw).text == "Where is my order?"


def test_html_becomes_text_laid_out_as_a_mail_client_shows_it() -> None:
    html = (
        "<html><head><title>Newsletter title</title><style>p {color: red}</style>"
        "<script>track()</script></head><body>"
        + "<div><br></div>" * 12
        + "<p>Your   order\n   shipped.</p>"
        + "<p>&nbsp;</p>" * 12
        + "<ul><li>Shoes</li><li>Hat</li></ul></body></html>"
    )
    raw = message(
        "From: pat@example.com\nSubject: HTML\nMIME-Version: 1.0\n"
        "Content-Type: text/html; charset=utf-8",
        html,
    )

    text = parse(raw).text

    assert "Newsletter title" not in text
    assert "color" not in text
    assert "track()" not in text
    assert "Your order shipped." in text
    assert "\n\n\n" not in text
    assert text.endswith("* Shoes\n  * Hat")


def test_raw_utf8_headers_are_read_as_utf8() -> None:
    raw = "From: Zoë <zoe@example.com>\r\nSubject: Café\r\n\r\nbody".encode()

    parsed = parse(raw)

    assert (parsed.subject, parsed.sender_name) == ("Café", "Zoë")


# --- Attachments ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("part", "name"),
    [
        ("Content-Type: application/octet-stream", "attachment.bin"),
        ("Content-Type: application/pdf", "attachment.pdf"),
        ("Content-Type: application/x-unknown-thing", "attachment.bin"),
        ('Content-Type: application/pdf; name="=?utf-8?q?R=C3=A9sum=C3=A9.pdf?="', "Résumé.pdf"),
    ],
)
def test_an_attachment_keeps_its_name_or_gets_a_whole_one(part: str, name: str) -> None:
    raw = message(
        "From: pat@example.com\nSubject: Files\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"',
        f"--b\nContent-Type: text/plain\n\nSee attached.\n--b\n{part}\n"
        "Content-Disposition: attachment\nContent-Transfer-Encoding: base64\n\nAAEC\n--b--\n",
    )

    [attachment] = parse(raw).attachments

    assert attachment.name == name


def test_a_multipart_whose_parts_cannot_be_found_is_quarantined_as_unreadable() -> None:
    raw = message(
        "From: pat@example.com\nSubject: Broken\nMIME-Version: 1.0\nContent-Type: multipart/mixed",
        "--nobody-knows\nContent-Type: text/plain\n\nlost\n--nobody-knows--\n",
    )

    email = inbound_receive(raw=raw, source="pipe").email

    assert email.status == InboundEmail.Status.QUARANTINED
    assert email.reason.startswith("no readable content")
    assert "parts could not be found" in email.reason


# --- Headers as a person reads them ---------------------------------------------------------


def test_obsolete_spaces_before_a_colon_and_a_stray_line_do_not_end_the_headers() -> None:
    raw = message(
        "From  : John Doe <jdoe@machine.example>\nReceived: by x.example\n"
        "quite Delivered-To: a@b.example\nSubject     : Saying Hello",
        "This is a message just to say hello.",
    )

    parsed = parse(raw)

    assert (parsed.sender_name, parsed.sender_email) == ("John Doe", "jdoe@machine.example")
    assert parsed.subject == "Saying Hello"
    assert parsed.text == "This is a message just to say hello."


def test_adjacent_encoded_words_make_one_name() -> None:
    raw = message(
        "From: =?UTF-8?B?TXlTdXJ2ZXk=?=\n =?UTF-8?B?LmNvbSAmIEM=?=\n"
        " =?UTF-8?B?YXJvbA==?= <c@x.example>",
        "x",
    )

    assert parse(raw).sender_name == "MySurvey.com & Carol"


@pytest.mark.parametrize(
    "header",
    ["List-Id: <users.lists.example>", "List-Unsubscribe: <https://x.example/u>",
     "Mailing-List: contact users-help@lists.example; run by ezmlm"],
)  # fmt: skip
def test_a_list_or_newsletter_is_ignored(header: str) -> None:
    email = inbound_receive(raw=message(f"From: a@x.example\n{header}", "news"), source="pipe")

    assert email.email.status == InboundEmail.Status.IGNORED
    assert "mailing list or newsletter" in email.email.reason


# --- What must not change (review of issue 16) ---------------------------------------------


def test_a_named_text_file_beside_the_message_stays_an_attachment() -> None:
    raw = message(
        "From: pat@example.com\nSubject: Logs\nMIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"',
        "--b\nContent-Type: text/plain\n\nThe log is attached.\n"
        '--b\nContent-Type: text/plain\nContent-Disposition: inline; filename="server.log"\n\n'
        "line 1\nline 2\n"
        '--b\nContent-Type: text/html; name="report.html"\n\n<p>report</p>\n--b--\n',
    )

    parsed = parse(raw)

    assert parsed.text == "The log is attached."
    assert [(a.name, a.content) for a in parsed.attachments] == [
        ("report.html", b"<p>report</p>"),
        ("server.log", b"line 1\r\nline 2"),
    ]


def test_a_body_without_its_blank_line_is_read_as_before() -> None:
    raw = b"From: pat@example.com\r\nSubject: hi\r\nHello, my printer is broken.\r\nThanks, Jo\r\n"

    parsed = parse(raw)

    assert parsed.subject == "hi"
    assert "my printer is broken" not in parsed.subject


def test_an_unusable_reply_to_does_not_hide_a_usable_from() -> None:
    parsed = parse(message("From: Jo <jo@x.example>\nReply-To: jo@intranet\nSubject: Hi", "x"))

    assert parsed.sender_email == "jo@x.example"


def test_only_a_no_reply_word_makes_a_sender_automatic() -> None:
    assert parse(message("From: bernoreplyson@x.example", "x")).automatic == ""
    assert parse(message("From: shop.no-reply@x.example", "x")).automatic


def test_an_html_alternative_that_is_not_shown_is_not_laid_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    laid_out: list[str] = []
    monkeypatch.setattr("inbound.bodies.get_text", lambda html, config: laid_out.append(html))
    raw = message(
        "From: pat@example.com\nSubject: Big\nMIME-Version: 1.0\n"
        'Content-Type: multipart/alternative; boundary="b"',
        "--b\nContent-Type: text/plain\n\nMy order is late, here is the list.\n"
        "--b\nContent-Type: text/html\n\n<table><tr><td>row</td></tr></table>\n--b--\n",
    )

    parsed = parse(raw)

    assert parsed.text == "My order is late, here is the list."
    assert "<table>" in parsed.html
    assert laid_out == []


def test_html_too_big_to_lay_out_or_refused_still_gives_its_words() -> None:
    from inbound.bodies import MAX_LAID_OUT_HTML, text_from_html

    big = "<html><head><title>T</title></head><body>" + "<p>word</p>" * (MAX_LAID_OUT_HTML // 10)

    text = text_from_html(big + "</body></html>")

    assert text.startswith("word\nword")
    assert "T" not in text.split("word")[0]
    assert text_from_html("<!-- only a comment -->") == ""
    assert text_from_html("<p>a\x00b</p>") == "ab"
