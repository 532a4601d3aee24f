"""Showing an email's HTML in a console page under our Content-Security-Policy.

The preview shows the HTML in an ``<iframe sandbox srcdoc>``: no script
runs in it and it has no origin of its own, but it inherits the page's
policy, which refuses every inline style, and the email's HTML has style
attributes (mail clients ignore style sheets). So the page that shows a
preview allows exactly those attributes, by their hashes under
'unsafe-hashes', on that one response: no 'unsafe-inline', no other style,
no other page. An attribute the template does not write (an injected one)
has another hash and is still refused."""

import base64
import hashlib
from html.parser import HTMLParser

from django.http import HttpResponseBase

from tickets.previews import EmailPreview


class _StyleAttributes(HTMLParser):
    def __init__(self) -> None:
        super().__init__()  # convert_charrefs: the values as the browser reads them
        self.values: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.values.update(value for name, value in attrs if name == "style" and value)

    handle_startendtag = handle_starttag


def style_hashes(html: str) -> list[str]:
    """The CSP hash sources of the style attributes in ``html``, sorted."""
    parser = _StyleAttributes()
    parser.feed(html)
    parser.close()
    return sorted(
        f"'sha256-{base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()}'"
        for value in parser.values
    )


def allow_preview_styles(response: HttpResponseBase, preview: EmailPreview | None) -> None:
    """Let ``response`` show ``preview``'s HTML with its own style attributes."""
    hashes = style_hashes(preview.html) if preview is not None else []
    if hashes:
        # django-csp adds these to the settings' style-src for this response only.
        response._csp_update = {"style-src": ["'unsafe-hashes'", *hashes]}  # type: ignore[attr-defined]
