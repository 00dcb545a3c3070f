"""Porting a client written for OpenAI: model aliases, CORS, openai-processing-ms, the documents.

Driven the way a porting team would: the official SDK with OpenAI's model
names against a live site, a browser's preflight with httpx, and the
OpenAPI documents fetched with the same bearer key.
"""

from __future__ import annotations

import httpx
import openai
import pytest
from django.core import checks
from django.test import override_settings

from tests.live import live_site  # noqa: F401

ALIASES = "gpt-4o-mini=lukhas-matriz-1,gpt-echo=matriz-echo,text-embedding-3-small=lukhas-embed-1"
ORIGIN = "https://console.example.com"


@pytest.fixture
def site(live_site):  # noqa: F811
    return live_site(LUKHAS_MODEL_ALIASES=ALIASES, LUKHAS_CORS_ORIGINS=ORIGIN)


@pytest.fixture
def key(mint_key):
    plaintext, _ = mint_key()
    return plaintext


@pytest.fixture
def sdk(site, key):
    return openai.OpenAI(base_url=f"{site.base}/v1", api_key=key, max_retries=0, timeout=30)


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_answers_openai_model_names_through_their_aliases(sdk):
    ids = [model.id for model in sdk.models.list()]
    assert ids[:3] == ["lukhas-matriz-1", "matriz-echo", "lukhas-embed-1"]
    assert set(ids[3:]) == {"gpt-4o-mini", "gpt-echo", "text-embedding-3-small"}
    assert sdk.models.retrieve("gpt-4o-mini").id == "gpt-4o-mini"

    chat = sdk.chat.completions.create(
        model="gpt-echo", messages=[{"role": "user", "content": "ported client"}]
    )
    assert chat.choices[0].message.content == "ported client"
    assert chat.model == "matriz-echo"  # the answer names the model that answered
    answer = sdk.responses.create(model="gpt-echo", input="ported too")
    assert (answer.output_text, answer.model) == ("ported too", "matriz-echo")
    vectors = sdk.embeddings.create(model="text-embedding-3-small", input=["a cat"])
    assert vectors.model == "lukhas-embed-1" and len(vectors.data[0].embedding) > 0

    # An alias of a chat model is not an embedder, and an unknown name stays unknown.
    with pytest.raises(openai.NotFoundError, match="embedding model 'gpt-4o-mini'"):
        sdk.embeddings.create(model="gpt-4o-mini", input=["a cat"])
    with pytest.raises(openai.NotFoundError, match="model 'gpt-5'"):
        sdk.chat.completions.create(model="gpt-5", messages=[{"role": "user", "content": "x"}])


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_answers_a_browsers_preflight_for_configured_origins_only(site, key):
    asked = "authorization, content-type, x-stainless-os, x-stainless-retry-count"
    preflight = {
        "Origin": ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": asked,
    }
    url = f"{site.base}/v1/chat/completions"
    answer = httpx.options(url, headers=preflight)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == ORIGIN
    allowed = {h.strip() for h in answer.headers["access-control-allow-headers"].split(",")}
    assert {h.strip() for h in asked.split(",")} <= allowed
    assert "access-control-allow-credentials" not in answer.headers

    stranger = httpx.options(url, headers={**preflight, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers

    # The real request: its ids and limits are readable by the page's code.
    body = {"model": "matriz-echo", "messages": [{"role": "user", "content": "hi"}]}
    call = httpx.post(url, json=body, headers={"Origin": ORIGIN, "Authorization": f"Bearer {key}"})
    assert call.status_code == 200
    exposed = call.headers["access-control-expose-headers"].lower()
    assert "x-request-id" in exposed and "openai-processing-ms" in exposed
    assert "x-ratelimit-remaining-requests" in exposed
    # A refused call carries the header too, so the page can read the error.
    refused = httpx.post(url, json=body, headers={"Origin": ORIGIN})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == ORIGIN
    # /api (dashboard sessions) is never cross-origin.
    ops = httpx.options(f"{site.base}/api/coordination/tasks", headers=preflight)
    assert "access-control-allow-origin" not in ops.headers


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_says_how_long_the_server_worked(sdk):
    raw = sdk.chat.completions.with_raw_response.create(
        model="matriz-echo", messages=[{"role": "user", "content": "time me"}]
    )
    assert int(raw.headers["openai-processing-ms"]) >= 0
    stream = sdk.chat.completions.with_raw_response.create(
        model="matriz-echo", messages=[{"role": "user", "content": "time me"}], stream=True
    )
    assert int(stream.headers["openai-processing-ms"]) >= 0


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_it_serves_the_documents_to_a_bearer_key_with_the_read_scope(site, key, mint_key):
    bearer = {"Authorization": f"Bearer {key}"}
    for root in ("/v1", "/api"):
        document = httpx.get(f"{site.base}{root}/openapi.json", headers=bearer)
        assert document.status_code == 200, document.text
        assert document.json()["openapi"].startswith("3.")
        # Every operation declares its error answers.
        for operations in document.json()["paths"].values():
            for operation in operations.values():
                assert {"401", "429", "500"} <= set(operation["responses"]), operation
    embed_only, _ = mint_key(scopes=["embeddings:write"])
    refused = httpx.get(
        f"{site.base}/v1/openapi.json", headers={"Authorization": f"Bearer {embed_only}"}
    )
    assert refused.status_code == 403
    assert "models:read" in refused.json()["error"]["message"]
    wrong = httpx.get(f"{site.base}/v1/openapi.json", headers={"Authorization": "Bearer lk-nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["message"]
    anonymous = httpx.get(f"{site.base}/v1/openapi.json")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["location"]


@override_settings(
    FACADE_MODEL_ALIASES={"gpt-4o": "gpt-9", "matriz-echo": "lukhas-matriz-1"},
)
def test_it_warns_about_aliases_that_point_nowhere_or_hide_a_model():
    warnings = [m for m in checks.run_checks() if m.id == "matriz.W201"]
    messages = sorted(m.msg for m in warnings)
    assert len(messages) == 2
    assert "gpt-4o points at gpt-9" in messages[0]
    assert "matriz-echo is a model of this server already" in messages[1]
