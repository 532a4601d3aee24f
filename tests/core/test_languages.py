"""The customer's language and how their dates read (core.languages, core.dates)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from core.dates import customer_date, customer_datetime, zone_name
from core.languages import customer_language, language_tag, speaking


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("en", "en"),
        ("en-GB", "en"),
        ("pt-BR", "pt-br"),
        ("pt-br", "pt-br"),
        # The nearest we ship: Portuguese is better than English for Lisbon.
        ("pt-PT", "pt-br"),
        ("pt", "pt-br"),
        ("de-AT", "de"),
        ("fr-CA", "fr"),
        ("es-MX", "es"),
        ("ja", "en"),
        ("zz", "en"),
        ("", "en"),
    ],
)
def test_the_customers_locale_maps_to_a_shipped_language_or_english(
    locale: str, language: str
) -> None:
    assert customer_language(locale) == language


@pytest.mark.parametrize(
    ("language", "tag"), [("en", "en"), ("pt-br", "pt-BR"), ("de", "de"), ("fr", "fr")]
)
def test_the_lang_tag_is_bcp_47(language: str, tag: str) -> None:
    assert language_tag(language) == tag


def test_speaking_switches_the_language_only_inside() -> None:
    with speaking("pt-BR") as language:
        assert language == "pt-br"
        assert translation.get_language() == "pt-br"
    assert translation.get_language() != "pt-br"


# 23:30 in UTC on the 8th is 20:30 on the 8th in São Paulo and 08:30 on the 9th in Tokyo.
MOMENT = datetime(2026, 12, 8, 23, 30, tzinfo=UTC)
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.mark.parametrize(
    ("locale", "zone", "day", "wall_time"),
    [
        ("en", SAO_PAULO, "December 8, 2026", "Tuesday, December 8, 2026, 8:30\u202fPM"),
        ("en", TOKYO, "December 9, 2026", "Wednesday, December 9, 2026, 8:30\u202fAM"),
        ("pt-BR", SAO_PAULO, "8 de dezembro de 2026", "terça-feira, 8 de dezembro de 2026 20:30"),
        ("de", SAO_PAULO, "8. Dezember 2026", "Dienstag, 8. Dezember 2026, 20:30"),
        ("fr", TOKYO, "9 décembre 2026", "mercredi 9 décembre 2026, 08:30"),
        ("es", SAO_PAULO, "8 de diciembre de 2026", "martes, 8 de diciembre de 2026, 20:30"),
    ],
)
def test_dates_read_in_the_customers_zone_and_language(
    locale: str, zone: ZoneInfo, day: str, wall_time: str
) -> None:
    with speaking(locale):
        assert customer_date(MOMENT, zone) == day
        assert customer_datetime(MOMENT, zone) == wall_time


def test_the_zone_is_named_by_its_place_in_the_readers_language() -> None:
    with speaking("en"):
        assert zone_name(SAO_PAULO) == "Brazil (São Paulo) Time"
    with speaking("pt-BR"):
        assert zone_name(SAO_PAULO) == "Horário Brasil (São Paulo)"
