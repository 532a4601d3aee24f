"""The language a customer reads: their locale where we ship a catalogue,
English otherwise, and the tags that say so honestly (``lang`` in HTML,
``Content-Language`` in mail, Babel's locale for dates and money)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.utils import translation

FALLBACK = "en"


def customer_language(locale: str) -> str:
    """The shipped language (a code of ``settings.LANGUAGES``) closest to the
    customer's language tag: ``pt-BR`` is ``pt-br``, ``pt-PT`` the nearest
    Portuguese we have, ``de-AT`` German; a language we do not ship is English."""
    try:
        return translation.get_supported_language_variant((locale or FALLBACK).lower())
    except LookupError:
        return FALLBACK


def language_tag(language: str) -> str:
    """A Django language code as a BCP 47 tag, for ``lang``: ``pt-br`` is ``pt-BR``."""
    return translation.to_locale(language).replace("_", "-")


def babel_locale(language: str) -> str:
    """A Django language code as Babel's locale identifier: ``pt-br`` is ``pt_BR``."""
    return translation.to_locale(language)


def current_language() -> str:
    """The language active now, as a shipped code (English outside any override)."""
    return customer_language(translation.get_language() or settings.LANGUAGE_CODE)


@contextmanager
def speaking(locale: str) -> Iterator[str]:
    """Everything rendered inside is in the customer's language; yields its code."""
    language = customer_language(locale)
    with translation.override(language):
        yield language
