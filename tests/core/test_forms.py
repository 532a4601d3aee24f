"""The console's menus (core.forms): the same markup as Django's Select,
written without a template per option, and read in one query."""

import re
from typing import Any

import pytest
from django import forms

from accounts.models import User
from core.forms import ListedModelChoiceField, MenuSelect
from tests.factories import StaffFactory


def _django(field: forms.Field, value: Any) -> str:
    form = forms.Form(initial={"menu": value})
    form.fields["menu"] = field
    field.widget = forms.Select(choices=field.widget.choices)
    return str(form["menu"])


def _ours(field: forms.Field, value: Any) -> str:
    form = forms.Form(initial={"menu": value})
    form.fields["menu"] = field
    return str(form["menu"])


def _same(html: str) -> str:
    return re.sub(r">\s+<", "><", html.strip())


SEVERITIES = [("minor", "Minor"), ("major", "Major & worse"), ("critical", "<Critical>")]


@pytest.mark.parametrize("value", ["major", None, "unknown"])
def test_a_menu_is_drawn_as_djangos(value: Any) -> None:
    ours = forms.ChoiceField(choices=SEVERITIES, widget=MenuSelect)
    django = forms.ChoiceField(choices=SEVERITIES)

    assert _same(_ours(ours, value)) == _same(_django(django, value))
    assert "&lt;Critical&gt;" in _ours(ours, value)  # labels escaped
    assert ('value="major" selected' in _ours(ours, value)) is (value == "major")


def test_a_menu_with_groups_is_drawn_by_djangos_templates() -> None:
    grouped = [("Light", [("minor", "Minor")]), ("Heavy", [("major", "Major")])]
    ours = forms.ChoiceField(choices=grouped, widget=MenuSelect)

    html = _ours(ours, "major")

    assert '<optgroup label="Heavy">' in html
    assert _same(html) == _same(_django(forms.ChoiceField(choices=grouped), "major"))


@pytest.mark.django_db
def test_a_menu_of_rows_reads_them_in_one_query(django_assert_num_queries: Any) -> None:
    staff = [StaffFactory(username=f"menu-{n}") for n in range(3)]
    rows = User.objects.filter(username__startswith="menu-").order_by("username")

    with django_assert_num_queries(1):  # no COUNT first, no server-side cursor
        html = _ours(ListedModelChoiceField(queryset=rows, required=False), staff[1].pk)

    assert f'<option value="{staff[1].pk}" selected>menu-1</option>' in html
    assert html.count("<option") == 4  # the empty choice and three rows
    assert _same(html) == _same(
        _django(ListedModelChoiceField(queryset=rows, required=False), staff[1].pk)
    )
