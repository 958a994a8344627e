"""Content negotiation with a fast answer for the common case.

The API speaks JSON only. DRF's negotiation parses the Accept header into media types and
matches them against each renderer on every request. For a client that sends no Accept
header (DRF reads that as ``*/*``), ``*/*`` or ``application/json`` (nearly every client)
the answer is known, so it is given at once. Anything else (another type, parameters, a
``?format=``) goes through DRF's own negotiation unchanged, which answers 406 where it must.
"""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

_PLAIN = frozenset({"*/*", "application/json"})


class JSONFirstContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if (
            format_suffix is None
            and len(renderers) == 1
            and renderers[0].media_type == "application/json"
            and request.META.get("HTTP_ACCEPT", "*/*") in _PLAIN
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)
