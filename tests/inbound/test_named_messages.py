"""Issue 16's defects, each on the real message it was found in (the
corpus's own files, tests/inbound/corpus/README.md): what the desk reads
from it now, part by part."""

from pathlib import Path

from inbound.parsing import ParsedEmail, parse

CORPUS = Path(__file__).parent / "corpus"


def parsed(name: str) -> ParsedEmail:
    return parse((CORPUS / name).read_bytes())


def test_an_internationalised_sender_rfc6532() -> None:
    email = parsed("mail/rfc6532__utf8_headers.eml")

    assert (email.sender_name, email.sender_email) == ("Jöhn Doe", "jdöe@mächine.example")
    assert email.problems == []


def test_a_from_without_angle_brackets() -> None:
    email = parsed("mail/plain_emails__mix_caps_content_type.eml")

    assert (email.sender_name, email.sender_email) == ("Big Bug", "bb@bug.com")


def test_the_name_comes_from_from_not_reply_to() -> None:
    email = parsed("mail/error_emails__content_transfer_encoding_7-bit.eml")

    assert email.sender_name == "Discover Card"


def test_outlooks_unquoted_boundary() -> None:
    email = parsed("mail/mime_emails__raw_email_with_illegal_boundary.eml")

    assert email.text.startswith("Hello\nThis is an outlook test")
    assert email.attachments == []  # no more "attachment.alternativ"
    assert "<HTML>" in email.html  # the HTML alternative, for showing on demand


def test_the_only_text_part_inline_with_a_filename_is_the_body() -> None:
    email = parsed("php-mime-mail-parser/m0014.eml")

    assert "Die Hasen klagten einst über ihre mißliche Lage" in email.text
    assert len(email.text) > 700
    assert [a.name for a in email.attachments if a.content_type.startswith("text/")] == []


def test_two_plain_alternatives_the_second_really_html_show_once_without_tags() -> None:
    email = parsed("flanker/quoted-printable.eml")

    assert email.text.count("Please note that this email contains extremely long links") == 1
    assert "<div" not in email.text
    assert '<div dir="ltr">' in email.html


def test_html_as_text_without_its_title_or_its_source_layout() -> None:
    email = parsed("mail/error_emails__content_transfer_encoding_with_8bits.eml")

    assert "PROVANTAGE.COM : The Original Advantage" not in email.text  # the <title>
    assert "Holiday Gift Ideas for the Computer Professional!" in email.text
    assert "\n\n\n" not in email.text


def test_fallback_attachment_names_are_whole() -> None:
    names = [
        attachment.name
        for path in sorted(CORPUS.glob("*/*.eml"))
        for attachment in parse(path.read_bytes()).attachments
    ]

    assert names
    assert not [n for n in names if n.startswith("attachment.") and len(n.split(".")[1]) == 10]
    assert "attachment.bin" in names or "forwarded.eml" in names
