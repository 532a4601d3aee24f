"""The API's JSON parser: DRF's, plus a refusal of text nothing can store."""

from typing import Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from helpdesk.middleware import unstorable


class StrictJSONParser(JSONParser):
    r"""JSON whose keys and strings hold no NUL (``\u0000``) and no unpaired
    surrogate (``\ud800``): valid JSON, but PostgreSQL refuses the first and
    UTF-8 cannot encode the second, not even to echo it back in an error."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        data = super().parse(stream, media_type, parser_context)
        where = _first_unstorable(data, path="")
        if where is not None:
            raise ParseError(
                f"The body contains a NUL character or an unpaired surrogate{where}, "
                "which text may not hold."
            )
        return data


def _first_unstorable(value: Any, *, path: str) -> str | None:
    if isinstance(value, str):
        return f" in {path or 'the body'}" if unstorable(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if unstorable(key):
                # The key itself cannot be echoed: it is the offending text.
                return f" in a member name{' under ' + path if path else ''}"
            found = _first_unstorable(item, path=f"{path}.{key}" if path else key)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_unstorable(item, path=f"{path}[{index}]")
            if found is not None:
                return found
    return None
