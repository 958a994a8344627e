"""A JSON renderer built on orjson.

The list endpoints render tens of objects per request; orjson is several times faster than
the standard library here, and writes timestamps as ISO 8601 with a trailing ``Z`` for UTC.
"""

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer

_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    # Lazy translation strings and other str-like objects DRF puts into error bodies.
    return str(value)


class FastJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if data is None:
            return b""
        return orjson.dumps(data, default=_default, option=_OPTIONS)
