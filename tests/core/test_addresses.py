"""Customers' addresses: ASCII, IDNA and RFC 6532 (core.addresses)."""

import pytest
from django.core.exceptions import ValidationError

from core.addresses import is_international, mailbox, validate_mailbox


@pytest.mark.parametrize(
    "address",
    [
        "pat@example.com",
        "jo@bücher.example",
        "jdöe@mächine.example",
        "用户@例子.广告",
        "a.b+c@x.io",
    ],
)
def test_addresses_people_have_are_valid(address: str) -> None:
    validate_mailbox(address)


@pytest.mark.parametrize(
    "address",
    [
        "xxxxx@xxxxx",  # no domain anyone can reach
        "Big Bug bb@bug.com",
        "jd öe@mächine.example",
        "jdöe.@mächine.example",
        "jd\u2028öe@x.example",  # a line separator
        "jdöe@",
        "@mächine.example",
        "jdöe",
        "ö" * 250 + "@x.example",
    ],
)
def test_addresses_nobody_can_write_to_are_refused(address: str) -> None:
    with pytest.raises(ValidationError, match="valid email address"):
        validate_mailbox(address)


def test_only_a_local_part_beyond_ascii_is_international() -> None:
    assert is_international("jdöe@mächine.example")
    assert not is_international("jo@bücher.example")


def test_a_mailbox_keeps_the_address_as_written_and_encodes_the_name() -> None:
    assert mailbox("Pat", "pat@example.com") == "Pat <pat@example.com>"
    assert mailbox("Silva, Maria", "m@example.com") == '"Silva, Maria" <m@example.com>'
    assert mailbox("Jöhn Doe", "jdöe@mächine.example") == (
        "=?utf-8?b?SsO2aG4gRG9l?= <jdöe@mächine.example>"
    )
    assert mailbox("", "jdöe@mächine.example") == "jdöe@mächine.example"


@pytest.mark.parametrize(
    "address",
    ["jö@x\ud800.example", "j\ufffdrg@example.com", "ö" * 33 + "@x.example", "a\x00@x.example"],
)
def test_lost_characters_and_over_long_local_parts_are_refused_not_raised(address: str) -> None:
    with pytest.raises(ValidationError, match="valid email address"):
        validate_mailbox(address)
