"""The signed links in a follow-up email: minted for each email
(``links_for``) and read back when the customer follows one. The salts and
the payloads' shapes live here, so a link made and a link read agree. Both
are reads: minting signs, and following a link checks its signature and
fetches the follow-up it names; what the customer then does (a rating, an
unsubscribe) is written by ``recovery.services.followup_responses``."""

from dataclasses import dataclass
from typing import Any, TypeGuard

from django.conf import settings
from django.core import signing

from recovery.models import FollowUp

FEEDBACK_SALT = "recovery.followup.feedback"
UNSUBSCRIBE_SALT = "recovery.followup.unsubscribe"

# The ratings a customer may give, best first, as the email and the pages list them.
RATINGS = (5, 4, 3, 2, 1)


@dataclass(frozen=True)
class Links:
    """A follow-up's signed links: the rating chooser (``feedback``), the
    one-click unsubscribe, and one link per rating, best first
    (``ratings``: [(5, url), ..., (1, url)]), each of which records its
    rating when followed."""

    feedback: str
    unsubscribe: str
    ratings: list[tuple[int, str]]


def links_for(followup: FollowUp) -> Links:
    base = settings.HELPDESK_PUBLIC_URL

    def signed(payload: dict[str, int], salt: str) -> str:
        # Not compressed: zlib never shortens payloads this small, and a
        # token it does not shorten is the same token uncompressed.
        return signing.dumps(payload, salt=salt)

    # {"f": pk} is also the shape of every link sent before one-click ratings,
    # so those emails' links keep working (see feedback_from_link).
    return Links(
        feedback=f"{base}/feedback/{signed({'f': followup.pk}, FEEDBACK_SALT)}/",
        unsubscribe=f"{base}/unsubscribe/{signed({'f': followup.pk}, UNSUBSCRIBE_SALT)}/",
        ratings=[
            (rating, f"{base}/feedback/{signed({'f': followup.pk, 'r': rating}, FEEDBACK_SALT)}/")
            for rating in RATINGS
        ],
    )


class LinkInvalid(Exception):
    """Tampered with, or not ours."""


class LinkExpired(Exception):
    pass


def _link_payload(token: str, *, salt: str) -> dict[str, Any]:
    try:
        data = signing.loads(token, salt=salt, max_age=settings.HELPDESK_FOLLOWUP_LINK_MAX_AGE)
    except signing.SignatureExpired:
        raise LinkExpired from None
    except signing.BadSignature:
        raise LinkInvalid from None
    # A valid signature proves we made the token, not that it has today's
    # shape: a payload from another version (or another signer use) is refused.
    if not isinstance(data, dict):
        raise LinkInvalid
    return data


def _whole_number(value: object, *, low: int, high: int) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _linked_followup(data: dict[str, Any]) -> FollowUp:
    pk = data.get("f")
    if not _whole_number(pk, low=1, high=2**63 - 1):
        raise LinkInvalid
    followup = FollowUp.objects.select_related("ticket", "customer").filter(pk=pk).first()
    if followup is None:
        raise LinkInvalid
    return followup


def followup_from_link(token: str, *, salt: str) -> FollowUp:
    return _linked_followup(_link_payload(token, salt=salt))


@dataclass(frozen=True)
class FeedbackLink:
    followup: FollowUp
    # The rating a one-click link records; None for the chooser link.
    rating: int | None


def feedback_from_link(token: str) -> FeedbackLink:
    """A feedback link: {"f": pk, "r": rating} from ``links_for``'s ratings,
    or {"f": pk}, the chooser, as every email sent before them carries."""
    data = _link_payload(token, salt=FEEDBACK_SALT)
    if not set(data) <= {"f", "r"}:
        raise LinkInvalid
    rating = data.get("r")
    if rating is not None and not _whole_number(rating, low=1, high=5):
        raise LinkInvalid
    return FeedbackLink(_linked_followup(data), rating)
