"""For the customer's pages (templates/public/)."""

from django import template

from core.languages import current_language, language_tag

register = template.Library()


@register.simple_tag
def html_lang() -> str:
    """The language the page is rendered in, as ``lang`` wants it: "pt-BR".
    The views render inside ``core.languages.speaking``; a page that knows no
    customer (a bad link, a throttled one) is in English and says so."""
    return language_tag(current_language())
