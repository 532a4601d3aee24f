"""The customer's forms: a reply from the case page, the contact form, and
asking for links by address. Shape only; the rules are the services'."""

import time
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.conf import settings
from django.core import signing
from django.utils.translation import gettext_lazy as _

from core.forms import MultipleFileField
from tickets.services.messages import MAX_BODY_CHARS

STARTED_SALT = "cases.contact.started"
# A form left open longer than this is sent again with a new clock: no
# honest person is refused, and an old token cannot be replayed for ever.
STARTED_MAX_AGE = 24 * 3600


class CaseReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your message"), max_length=MAX_BODY_CHARS, widget=forms.Textarea
    )
    attachments = MultipleFileField(label=_("Files (optional)"), required=False)


class LinkRequestForm(forms.Form):
    email = forms.EmailField(label=_("Your email address"), max_length=254)


def started_token() -> str:
    """When the contact form was handed out, signed: a robot that posts at
    once, or posts a form it never fetched, is told apart from a person."""
    return signing.dumps(time.time(), salt=STARTED_SALT)


class ContactForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Your email address"), max_length=254)
    subject = forms.CharField(label=_("Subject"), max_length=300)
    body = forms.CharField(
        label=_("Your message"), max_length=MAX_BODY_CHARS, widget=forms.Textarea
    )
    attachment = forms.FileField(label=_("A file (optional)"), required=False)
    # The honeypot: hidden from people (CSS, aria-hidden, no tab stop), filled by robots.
    website = forms.CharField(required=False, label=_("Leave this empty"))
    started = forms.CharField(widget=forms.HiddenInput)
    # Filled by the page's script from the browser, when it can: the zone we
    # write the customer's times in.
    time_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

    def clean_website(self) -> str:
        if self.cleaned_data["website"]:
            raise forms.ValidationError(
                _("This form could not be sent. Please write to us by email instead.")
            )
        return ""

    def clean_started(self) -> float:
        try:
            started = signing.loads(
                self.cleaned_data["started"], salt=STARTED_SALT, max_age=STARTED_MAX_AGE
            )
        except signing.BadSignature:
            raise forms.ValidationError(
                _("This form is too old to send. Please check your message and send it again.")
            ) from None
        if not isinstance(started, float | int):
            raise forms.ValidationError(_("This form could not be sent."))
        if time.time() - started < settings.HELPDESK_CONTACT_MIN_SECONDS:
            raise forms.ValidationError(
                _(
                    "That was faster than anyone can type. Please check your message "
                    "and send it again."
                )
            )
        return float(started)

    def clean_time_zone(self) -> str:
        zone = self.cleaned_data["time_zone"]
        return zone if zone in _zones() else ""

    def uploads(self) -> list[Any]:
        attachment = self.cleaned_data.get("attachment")
        return [attachment] if attachment else []


def _zones() -> set[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones()
    return _ZONES


_ZONES: set[str] | None = None
