"""Form pieces the console and the customers' pages share."""

from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field, cleaned to a list (empty when none)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(item, initial) for item in data]
        return [single(data, initial)] if data else []


class _ReadOnce(ModelChoiceIterator):
    def __iter__(self) -> Any:
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        # The queryset read as a list, once: Django's iterator() would open a
        # server-side cursor on PostgreSQL (DECLARE, FETCH, CLOSE, and WITH
        # HOLD outside a transaction) for a list of a few dozen rows.
        rows = getattr(self.field, "rows", None)  # a ListedModelChoiceField's
        for obj in self.queryset if rows is None else rows:
            yield self.choice(obj)


class MenuSelect(forms.Select):
    """A menu of plain options, its markup written here: Django's Select
    draws a template for each option (a dict of a dozen keys, a context, a
    render), and the ticket page's menus (the staff, the queues) hold sixty
    options. The same elements and attributes as Django's; a menu with
    groups, or of several choices, is drawn by Django's templates."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        # Through iter(): list() would first ask a ModelChoiceIterator its
        # length, a COUNT query.
        choices = list(iter(self.choices))
        if self.allow_multiple_selected or any(isinstance(c[1], list | tuple) for c in choices):
            return super().render(name, value, attrs, renderer)
        wanted = set(self.format_value(value))
        options = []
        chosen = False
        for choice, label in choices:
            option = "" if choice is None else choice  # as Django's optgroups()
            selected = not chosen and str(option) in wanted  # one, as Django's
            chosen |= selected
            options.append((option, " selected" if selected else "", label))
        return format_html(
            '<select name="{}"{}>{}\n</select>',
            name,
            _attributes(self.build_attrs(self.attrs, attrs)),
            format_html_join("", '\n  <option value="{}"{}>{}</option>', options),
        )


def _attributes(attrs: dict[str, Any]) -> SafeString:
    """As Django's attrs.html writes them: a true one by its name alone."""
    return format_html_join(
        "",
        " {}{}",
        (
            (name, "" if value is True else format_html('="{}"', value))
            for name, value in attrs.items()
            if value is not False
        ),
    )


class ListedModelChoiceField(forms.ModelChoiceField):
    """A menu of model rows (staff, queues): a short list, read in one query."""

    iterator = _ReadOnce
    widget = MenuSelect
    # The menu's rows, when read already (a compiled query): shown instead of
    # reading the queryset, which still checks the choice sent back.
    rows: list[Any] | None = None
