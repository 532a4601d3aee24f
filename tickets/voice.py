"""How a customer email sounds like a person: the agent's words are the
email, opened by exactly one greeting (theirs when they wrote one, else
ours) and signed with their name."""

import re
import unicodedata

from django.utils.translation import gettext

# Openings of a greeting in the languages we ship (and the common informal
# ones): an agent who starts with one of these has greeted the customer.
_GREETING = re.compile(
    r"^(hi|hello|hey|dear|good (morning|afternoon|evening|day)|greetings"
    r"|hola|buen[oa]s|buen d[ií]a|estimad[oa]|querid[oa]"
    r"|ol[áa]|oi|prezad[oa]|car[oa]|bom dia|boa (tarde|noite)"
    r"|hallo|liebe[rs]?|sehr geehrte[rs]?|guten (tag|morgen|abend)|moin|servus"
    r"|bonjour|bonsoir|salut|ch[èe]re?s?|madame|monsieur)\b",
    re.IGNORECASE,
)
# A first line this short that names the customer is an address ("Maria,").
_ADDRESS_LIMIT = 60


def opens_with_greeting(body: str, customer_name: str) -> bool:
    """Whether the agent's words already greet the customer."""
    first = next((line.strip() for line in body.splitlines() if line.strip()), "")
    if _GREETING.match(first):
        return True
    if len(first) > _ADDRESS_LIMIT or not first.endswith((",", ":", "!")):
        return False
    # Whole words, accents aside: "Ed" is not in "We fixed it!", and "María,"
    # addresses a customer stored as Maria.
    words = set(re.findall(r"\w+", _plain(first)))
    return any(part in words for part in re.findall(r"\w{2,}", _plain(customer_name)))


def _plain(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def greeting_for(body: str, customer_name: str) -> str:
    """Our greeting, in the active language, when the agent wrote none; else ''."""
    if opens_with_greeting(body, customer_name):
        return ""
    if not customer_name.strip():
        return gettext("Hello,")
    return gettext("Hello %(name)s,") % {"name": customer_name.strip()}
