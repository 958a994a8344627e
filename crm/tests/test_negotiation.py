"""The API's fast content negotiation answers exactly as DRF's own would."""

from __future__ import annotations

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from crm.negotiation import JSONFirstContentNegotiation
from crm.renderers import FastJSONRenderer

ACCEPTS = [
    None,
    "",
    "*/*",
    " */* ",
    "application/json",
    "application/json; indent=4",
    "application/*",
    "text/html",
    "text/html, application/json;q=0.9",
    "application/xml",
    "garbage",
]


def _outcome(negotiation, accept: str | None, query: str = ""):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/v1/leads{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, [FastJSONRenderer()])
    except Exception as error:  # the outcome compared is the exception's type
        return type(error).__name__
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=json", "?format=xml", "?status=new"])
def test_same_answer_as_drf(accept, query):
    ours = _outcome(JSONFirstContentNegotiation(), accept, query)
    assert ours == _outcome(DefaultContentNegotiation(), accept, query)


def test_the_api_uses_it_and_refuses_what_it_cannot_render(client, django_user_model):
    user = django_user_model.objects.create_user("neg", password="pw-neg-123456")
    client.force_login(user)
    assert client.get("/v1/leads").status_code == 200
    assert client.get("/v1/leads", HTTP_ACCEPT="application/json").status_code == 200
    refused = client.get("/v1/leads", HTTP_ACCEPT="text/html")
    assert refused.status_code == 406
    assert refused["Content-Type"].startswith("application/json")
