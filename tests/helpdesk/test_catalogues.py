"""The translation catalogues: one per shipped language, complete, with the
placeholders of their sources, compiled by the project's own command, and
in step with the text in the code (a string added without its translations
fails here, not in a customer's inbox)."""

import shutil
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.utils import translation

from accounts.management.commands.compilecatalogues import catalogue_problems

LOCALE = Path(settings.BASE_DIR) / "locale"
SHIPPED = [code for code, _ in settings.LANGUAGES if code != "en"]


def catalogue(language: str) -> Path:
    return LOCALE / translation.to_locale(language) / "LC_MESSAGES" / "django.po"


@pytest.mark.parametrize("language", SHIPPED)
def test_each_language_has_a_complete_catalogue(language: str) -> None:
    with catalogue(language).open("rb") as po:
        messages = [message for message in read_po(po) if message.id]
    assert messages
    untranslated = [m.id for m in messages if not m.string or not all(m.string)]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert not untranslated, f"{language}: not translated: {untranslated}"
    assert not fuzzy, f"{language}: marked fuzzy (unchecked): {fuzzy}"


@pytest.mark.parametrize("language", SHIPPED)
def test_translations_keep_their_sources_placeholders(language: str) -> None:
    with catalogue(language).open("rb") as po:
        assert catalogue_problems(read_po(po)) == []


def test_compilecatalogues_writes_what_django_reads(tmp_path: Path) -> None:
    shutil.copytree(LOCALE, tmp_path / "locale")
    for compiled in (tmp_path / "locale").glob("*/LC_MESSAGES/*.mo"):
        compiled.unlink()
    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]):
        call_command("compilecatalogues", verbosity=0)
    written = (tmp_path / "locale").glob("*/LC_MESSAGES/django.mo")
    assert {path.parent.parent.name for path in written} == {
        translation.to_locale(language) for language in SHIPPED
    }


def test_a_broken_placeholder_stops_the_compilation(tmp_path: Path) -> None:
    target = tmp_path / "locale" / "de" / "LC_MESSAGES"
    target.mkdir(parents=True)
    (target / "django.po").write_text(
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
        '#, python-format\nmsgid "Hello %(name)s,"\nmsgstr "Hallo %(nom)s,"\n',
        encoding="utf-8",
    )
    with override_settings(LOCALE_PATHS=[tmp_path / "locale"]), pytest.raises(CommandError):
        call_command("compilecatalogues", verbosity=0)
    assert not (target / "django.mo").exists()


def test_the_catalogues_hold_every_string_the_code_marks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """makemessages, run afresh on a copy of the sources, finds no string the
    catalogues lack (scripts/test installs GNU gettext, which it needs)."""
    assert shutil.which("xgettext"), "GNU gettext is not installed: run scripts/test"
    root = Path(settings.BASE_DIR)
    copy = tmp_path / "src"
    shutil.copytree(
        root,
        copy,
        ignore=shutil.ignore_patterns(
            ".*", "node_modules", "test-artifacts", "var", "staticfiles", "__pycache__", "*.mo"
        ),
    )
    monkeypatch.chdir(copy)
    with override_settings(LOCALE_PATHS=[copy / "locale"]):
        call_command("makemessages", all=True, verbosity=0)
    for language in SHIPPED:
        relative = catalogue(language).relative_to(LOCALE)
        with (copy / "locale" / relative).open("rb") as fresh:
            wanted = {_source(m.id) for m in read_po(fresh) if m.id}
        with catalogue(language).open("rb") as kept:
            have = {_source(m.id) for m in read_po(kept) if m.id}
        missing = wanted - have
        assert not missing, f"{language} lacks {missing}: run manage.py makemessages -a, translate"


def _source(message_id: str | tuple[str, ...] | list[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]
