"""How forms draw their widgets: Django's own widget templates in Jinja2.

Django ships every form and widget template twice, for its template
language and for Jinja2, with the same markup. Drawn by Jinja2 a widget costs
a fraction of the CPU: the console's ticket page draws eleven fields, one
template per option of its assignee list, and spent a fifth of its time
there. Templates only the template language has (the admin's own widgets, at
/admin/) are drawn by it, as before."""

from typing import Any

from django.conf import settings
from django.forms.renderers import BaseRenderer, DjangoTemplates, Jinja2
from django.template import TemplateDoesNotExist

_DJANGOS_ERRORS = "django/forms/errors/"


class FormRenderer(BaseRenderer):
    def __init__(self) -> None:
        self._jinja2 = Jinja2()
        self._django = DjangoTemplates()
        # The engine that has each template: looked up once a name, since a
        # miss in Jinja2's loader is a look at the disk every time.
        self._engine_of: dict[str, BaseRenderer] = {}
        # And the template itself, outside development (where an edited one
        # is read again): a page draws seventy, a lookup and a lock each.
        self._templates: dict[str, Any] = {}

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        # Every field of every form draws its errors, mostly none: Django's
        # error templates then draw nothing, after two templates a field.
        if template_name.startswith(_DJANGOS_ERRORS) and not context.get("errors"):
            return ""
        return super().render(template_name, context, request)

    def get_template(self, template_name: str) -> Any:
        template = self._templates.get(template_name)
        if template is not None:
            return template
        engine = self._engine_of.get(template_name)
        if engine is not None:
            template = engine.get_template(template_name)
        else:
            try:
                template = self._jinja2.get_template(template_name)
                engine = self._jinja2
            except TemplateDoesNotExist:
                template = self._django.get_template(template_name)
                engine = self._django
            self._engine_of[template_name] = engine
        if not settings.DEBUG:
            self._templates[template_name] = template
        return template
