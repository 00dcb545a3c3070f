"""The official openai SDK against a live site: every façade operation, every error class."""

from __future__ import annotations

import base64

import httpx
import numpy as np
import openai
import pytest

from matriz.facade.tokens import encoding
from tests.live import live_site  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MEMORIES = [
    {"text": "The release train for LUKHAS 2.4 departs on Thursday at 14:00 UTC."},
    {"text": "The canary rollout stopped at 5 percent because p95 latency doubled."},
]


@pytest.fixture
def site(live_site):  # noqa: F811
    return live_site()


@pytest.fixture
def sdk(site, mint_key):
    plaintext, _ = mint_key()
    return openai.OpenAI(base_url=f"{site.base}/v1", api_key=plaintext, max_retries=0, timeout=30)


def test_it_lists_models(sdk):
    ids = [model.id for model in sdk.models.list()]
    assert ids == ["lukhas-matriz-1", "matriz-echo", "lukhas-embed-1"]
    assert sdk.models.retrieve("matriz-echo").owned_by == "lukhas"


def test_it_creates_and_streams_responses(sdk):
    answer = sdk.responses.create(model="matriz-echo", input="hello from the sdk")
    assert answer.output_text == "hello from the sdk"
    assert answer.status == "completed"
    assert answer.usage.output_tokens > 0
    assert sdk.responses.retrieve(answer.id).id == answer.id

    events = list(sdk.responses.create(model="matriz-echo", input="one two three", stream=True))
    kinds = [event.type for event in events]
    assert kinds[:4] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
    ]
    assert kinds[-4:] == [
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == (
        "one two three"
    )
    with sdk.responses.stream(model="matriz-echo", input="through the helper") as stream:
        texts = [e.delta for e in stream if e.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(texts) == final.output_text == "through the helper"
    follow = sdk.responses.create(model="matriz-echo", input="next", previous_response_id=final.id)
    assert follow.usage.input_tokens > answer.usage.input_tokens


def test_it_creates_and_streams_chat_completions(sdk):
    completion = sdk.chat.completions.create(
        model="matriz-echo", messages=[{"role": "user", "content": "ping"}]
    )
    assert completion.choices[0].message.content == "ping"
    assert completion.usage.completion_tokens == 1
    assert completion.model_extra["lukhas"]["status"] == "ok"
    chunks = list(
        sdk.chat.completions.create(
            model="matriz-echo",
            messages=[{"role": "user", "content": "stream this please"}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "stream this please"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == 3


def test_it_embeds_as_the_sdk_asks(sdk):
    decoded = sdk.embeddings.create(model="lukhas-embed-1", input=["canary latency doubled"])
    floats = sdk.embeddings.create(
        model="lukhas-embed-1", input=["canary latency doubled"], encoding_format="float"
    )
    assert np.allclose(decoded.data[0].embedding, floats.data[0].embedding, atol=1e-6)
    short = sdk.embeddings.create(
        model="lukhas-embed-1", input="canary latency doubled in the rollout", dimensions=256
    )
    assert len(short.data[0].embedding) == 256
    raw = sdk.embeddings.with_raw_response.create(
        model="lukhas-embed-1", input="x y z", encoding_format="base64"
    )
    vector = np.frombuffer(base64.b64decode(raw.parse().data[0].embedding), dtype="<f4")
    assert vector.shape == (384,)


def test_it_embeds_token_ids_as_their_text(sdk):
    texts = ["the canary rollout was halted", "bananas are yellow 🍌"]
    ids = [encoding().encode(text) for text in texts]
    as_text = sdk.embeddings.create(model="lukhas-embed-1", input=texts, encoding_format="float")
    as_ids = sdk.embeddings.create(model="lukhas-embed-1", input=ids, encoding_format="float")
    for by_text, by_ids in zip(as_text.data, as_ids.data, strict=True):
        assert np.allclose(by_text.embedding, by_ids.embedding, atol=1e-5)
    assert as_ids.usage.prompt_tokens == as_ids.usage.total_tokens == sum(map(len, ids))
    one = sdk.embeddings.create(model="lukhas-embed-1", input=ids[0], dimensions=64)
    assert len(one.data) == 1 and len(one.data[0].embedding) == 64
    assert one.usage.prompt_tokens == len(ids[0])
    for bad in ([5, -1], [[1, 2], [encoding().max_token_value + 1]], [[9906], []]):
        with pytest.raises(openai.BadRequestError) as refused:
            sdk.embeddings.create(model="lukhas-embed-1", input=bad)
        assert refused.value.param == "input"
        assert refused.value.type == "invalid_request_error"


def test_it_manages_indexes_and_recalls_from_them(sdk):
    index = sdk.post("/indexes", body={"name": "sdk-notes"}, cast_to=object)
    sdk.post(f"/indexes/{index['id']}/items", body={"items": MEMORIES}, cast_to=object)
    assert sdk.get(f"/indexes/{index['id']}", cast_to=object)["item_count"] == 2
    assert [i["id"] for i in sdk.get("/indexes", cast_to=object)["data"]] == [index["id"]]
    hits = sdk.post(
        f"/indexes/{index['id']}/query", body={"query": "canary", "top_k": 1}, cast_to=object
    )
    assert "canary" in hits["data"][0]["text"]
    answer = sdk.responses.create(
        model="lukhas-matriz-1",
        input="When does the release train depart?",
        metadata={"indexes": "sdk-notes"},
    )
    assert "Thursday at 14:00 UTC" in answer.output_text
    assert answer.model_extra["lukhas"]["reasoning_chain"]
    deleted = sdk.delete(f"/indexes/{index['id']}", cast_to=object)
    assert deleted == {"id": index["id"], "object": "index.deleted", "deleted": True}


def test_it_runs_a_dream_on_a_real_worker(sdk, celery_worker):
    import time

    index = sdk.post("/indexes", body={"name": "dreamy"}, cast_to=object)
    sdk.post(f"/indexes/{index['id']}/items", body={"items": MEMORIES}, cast_to=object)
    dream = sdk.post("/dreams", body={"index": "dreamy", "seed": "canary latency"}, cast_to=object)
    assert dream["status"] == "queued"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        dream = sdk.get(f"/dreams/{dream['id']}", cast_to=object)
        if dream["status"] in {"succeeded", "failed"}:
            break
        time.sleep(0.3)
    assert dream["status"] == "succeeded", (dream, celery_worker.output())
    assert dream["narrative"]
    assert dream["reasoning_chain"]


def test_it_sends_rate_limit_and_request_id_headers(sdk):
    raw = sdk.chat.completions.with_raw_response.create(
        model="matriz-echo", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-ratelimit-limit-requests"] == "1000"
    assert "x-ratelimit-remaining-tokens" in raw.headers
    assert raw.headers["x-request-id"]
    assert raw.parse().choices[0].message.content == "hi"


def test_it_raises_each_sdk_error_class(site, sdk, mint_key):
    base = f"{site.base}/v1"
    bad = openai.OpenAI(base_url=base, api_key="lk-aaaaaaaaaaaa_" + "b" * 43, max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.models.list()
    plaintext, _ = mint_key(scopes=["models:read"])
    narrow = openai.OpenAI(base_url=base, api_key=plaintext, max_retries=0)
    with pytest.raises(openai.PermissionDeniedError) as denied:
        narrow.embeddings.create(model="lukhas-embed-1", input="x")
    assert "embeddings:write" in denied.value.message
    with pytest.raises(openai.NotFoundError) as missing:
        sdk.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
    assert missing.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad_request:
        sdk.chat.completions.create(
            model="matriz-echo", messages=[{"role": "user", "content": "x"}], temperature=7
        )
    assert bad_request.value.param == "temperature"
    sdk.chat.completions.create(
        model="matriz-echo",
        messages=[{"role": "user", "content": "first"}],
        extra_headers={"Idempotency-Key": "same-key"},
    )
    with pytest.raises(openai.UnprocessableEntityError):
        sdk.chat.completions.create(
            model="matriz-echo",
            messages=[{"role": "user", "content": "different"}],
            extra_headers={"Idempotency-Key": "same-key"},
        )


def test_it_lets_the_sdk_retry_a_429_then_raise(site, mint_key):
    from guardian import ratelimit
    from guardian.auth import key_principal

    plaintext, key = mint_key(tpm=60)
    # Five minutes of token debt: Retry-After is beyond what the SDK honours,
    # so it retries after its own short backoff, is refused again, and raises.
    ratelimit.charge_tokens(key_principal(key), 60 * 6)
    attempts: list[int] = []

    def count(request: httpx.Request) -> None:
        attempts.append(1)

    http = httpx.Client(event_hooks={"request": [count]})
    client = openai.OpenAI(
        base_url=f"{site.base}/v1", api_key=plaintext, max_retries=1, http_client=http, timeout=30
    )
    with pytest.raises(openai.RateLimitError) as refused:
        client.models.list()
    assert refused.value.status_code == 429
    assert len(attempts) == 2  # the call and its one retry
