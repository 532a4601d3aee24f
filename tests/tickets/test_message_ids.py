import pytest

from tickets.message_ids import is_our_message_id, our_message_id


def test_our_ids_carry_the_reference_and_are_recognised(settings: object) -> None:
    settings.HELPDESK_EMAIL_DOMAIN = "desk.example"  # type: ignore[attr-defined]

    ours = our_message_id(reference="HD-000123")

    assert ours.startswith("<hd.HD-000123.")
    assert ours.endswith("@desk.example>")
    assert is_our_message_id(ours)
    assert our_message_id(reference="HD-000123") != ours


def test_an_id_with_a_unique_part_is_stable() -> None:
    first = our_message_id(reference="HD-000007", unique="followup-3")

    assert first == our_message_id(reference="HD-000007", unique="followup-3")
    assert is_our_message_id(first)


def test_ours_whatever_the_case_or_the_domain_it_arrives_with() -> None:
    ours = our_message_id(reference="HD-000123")
    local = ours.strip("<>").rpartition("@")[0]

    assert is_our_message_id(ours.upper())
    assert is_our_message_id(f" <{local}@old-domain.example> ")


@pytest.mark.parametrize(
    "message_id",
    [
        "<20260101.1234.5678@localhost>",
        "<abc.HD-000001@localhost>",
        "<followup-1.HD-000001@localhost>",
        "<hd.HD-000001.0123456789abcdef0123.0123456789abcdef@localhost>",
        "<hd.HD-000001@localhost>",
        "<@localhost>",
        "",
    ],
)
def test_ids_we_did_not_sign_are_not_ours(message_id: str) -> None:
    assert not is_our_message_id(message_id)


def test_changing_any_part_of_a_signed_id_makes_it_not_ours() -> None:
    ours = our_message_id(reference="HD-000123", unique="followup-3")

    assert not is_our_message_id(ours.replace("HD-000123", "HD-000124"))
    assert not is_our_message_id(ours.replace("followup-3", "followup-4"))


def test_an_id_signed_with_a_retired_key_is_still_ours(settings: object) -> None:
    ours = our_message_id(reference="HD-000123")
    old_key = settings.SECRET_KEY  # type: ignore[attr-defined]

    settings.SECRET_KEY = "a-new-key-after-rotation"  # type: ignore[attr-defined]
    assert not is_our_message_id(ours)
    settings.SECRET_KEY_FALLBACKS = [old_key]  # type: ignore[attr-defined]
    assert is_our_message_id(ours)
