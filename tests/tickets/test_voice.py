"""One greeting: the agent's own when they wrote one, else ours (tickets.voice)."""

import pytest
from django.utils import translation

from tickets.voice import greeting_for, opens_with_greeting


@pytest.mark.parametrize(
    "body",
    [
        "Hi Maria,\n\nWe are on it.",
        "Hello,\nWe are on it.",
        "Dear Ms Silva,\n\nWe are on it.",
        "Good morning Maria! We are on it.",
        "  \n\nHey there, we are on it.",
        "Olá Maria,\n\nJá estamos vendo.",
        "Oi, Maria!",
        "Prezada Maria,",
        "Hola María:",
        "Buenos días, María.",
        "Liebe Maria,",
        "Sehr geehrte Frau Silva,",
        "Guten Tag Frau Silva,",
        "Bonjour Maria,",
        "Chère Maria,",
        "Maria,\n\nWe are on it.",
        "Maria Silva:\nWe are on it.",
        "María:\nYa está.",
        "Buen día María:",
    ],
)
def test_an_agent_who_greets_gets_no_second_greeting(body: str) -> None:
    assert opens_with_greeting(body, "Maria Silva")
    assert greeting_for(body, "Maria Silva") == ""


@pytest.mark.parametrize(
    "body",
    [
        "We are on it.",
        "Thank you for telling us, Maria, we are on it.",
        "Your refund of 20 EUR is on its way.",
        "Highly unusual: your parcel went to Hamburg.",  # "Hi" only as a word
        "Maria Silva asked us to write to you about the order, which ships today,",
    ],
)
def test_an_agent_who_does_not_greet_gets_ours(body: str) -> None:
    assert not opens_with_greeting(body, "Maria Silva")
    assert greeting_for(body, "Maria Silva") == "Hello Maria Silva,"


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("Ed Jones", "We fixed it!"),
        ("Ana Costa", "We managed to fix the delivery:"),
        ("Al Li", "We called the carrier, all is well!"),
    ],
)
def test_a_name_inside_another_word_is_no_greeting(name: str, body: str) -> None:
    assert not opens_with_greeting(body, name)
    assert greeting_for(body, name) == f"Hello {name},"


def test_our_greeting_without_a_name_greets_all_the_same() -> None:
    assert greeting_for("We are on it.", "  ") == "Hello,"


def test_our_greeting_is_in_the_active_language() -> None:
    with translation.override("pt-br"):
        assert greeting_for("Já estamos vendo.", "Maria Silva") == "Olá, Maria Silva,"
