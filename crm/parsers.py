"""The API's request parsers (a module of their own: DRF's settings import them, and
``crm.api`` imports DRF's views, which read those settings)."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with deeply nested input a 400 like any other malformed JSON.

    Python's decoder recurses once per nesting level, and past the interpreter's limit
    ``RecursionError`` escaped DRF's parser as a 500 (a body of 2,000 ``[`` is enough).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
