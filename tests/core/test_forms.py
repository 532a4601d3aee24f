"""The console's menus (core.forms): the same markup as Django's Select,
written without a template per option, and read in one query."""

import re
from typing import Any

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from accounts.models import User
from core.forms import ListedModelChoiceField, MenuSelect
from core.renderers import FormRenderer
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


class Reason(forms.Form):
    reason = forms.CharField(max_length=5, help_text="Why, in short.")
    kind = forms.ChoiceField(choices=SEVERITIES)


@pytest.mark.parametrize("data", [None, {"reason": "far too long", "kind": "nope"}, {}])
def test_forms_are_drawn_as_djangos_own_templates_draw_them(data: Any) -> None:
    ours = Reason(data)
    django = Reason(data, renderer=DjangoTemplates())

    assert isinstance(ours.renderer, FormRenderer)
    assert _same(ours.as_div()) == _same(django.as_div())
    for name in ("reason", "kind"):
        assert str(ours[name].errors) == str(django[name].errors)
        assert (str(ours[name].errors) == "") is (data is None)  # no errors: nothing drawn
    if data:
        assert 'class="errorlist" id="id_reason_error"' in str(ours["reason"].errors)


@pytest.mark.parametrize("value", [None, "a"])
def test_a_menu_writes_a_choice_of_none_as_django_does(value: Any) -> None:
    choices = [(None, "Nobody"), ("a", "Ana")]
    ours = _ours(forms.ChoiceField(choices=choices, widget=MenuSelect, required=False), value)
    django = _django(forms.ChoiceField(choices=choices, required=False), value)

    assert _same(ours) == _same(django)
    assert ('<option value="" selected>Nobody</option>' in ours) is (value is None)
