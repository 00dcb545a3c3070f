"""The /v1 façade through Django's test client: shapes, scopes and errors."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from matriz.facade.schemas import MAX_INPUT_CHARS
from tests.facade.conftest import sse_events

pytestmark = pytest.mark.django_db

MEMORIES = [
    {"id": "train", "text": "The release train for LUKHAS 2.4 departs on Thursday at 14:00 UTC.",
     "metadata": {"team": "release"}},
    {"id": "canary", "text": "The canary rollout stopped at 5 percent because p95 latency doubled.",
     "metadata": {"team": "release"}},
    {"id": "killswitch",
     "text": "Guardian's kill switch is owned by the safety on-call, currently Priya.",
     "metadata": {"team": "safety"}},
]  # fmt: skip
TEXTS = ["the canary rollout stopped because p95 latency doubled", "kill switch owners"]
USER = [{"role": "user", "content": "hello there"}]


@pytest.fixture
def index(post):
    created = post("/indexes", {"name": "ops-notes"})
    assert created.status_code == 200, created.content
    added = post(f"/indexes/{created.json()['id']}/items", {"items": MEMORIES})
    assert added.status_code == 200, added.content
    return created.json()


def test_it_lists_and_retrieves_models(get):
    listed = get("/models").json()
    assert listed["object"] == "list"
    ids = [m["id"] for m in listed["data"]]
    assert ids == ["lukhas-matriz-1", "matriz-echo", "lukhas-embed-1"]
    assert set(listed["data"][0]) == {"id", "object", "created", "owned_by"}
    assert get("/models/matriz-echo").json()["id"] == "matriz-echo"
    missing = get("/models/gpt-9")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"


def test_it_refuses_a_key_without_the_scope(client, api_key_headers):
    refused = client.get("/v1/models", headers=api_key_headers(scopes=["embeddings:write"]))
    assert refused.status_code == 403
    assert "models:read" in refused.json()["error"]["message"]
    refused = client.post(
        "/v1/chat/completions",
        {"model": "matriz-echo", "messages": USER},
        content_type="application/json",
        headers=api_key_headers(scopes=["models:read"]),
    )
    assert refused.status_code == 403
    assert refused.json()["error"]["type"] == "permission_error"


def test_it_echoes_a_chat_completion_with_usage(post):
    answer = post("/chat/completions", {"model": "matriz-echo", "messages": USER}).json()
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"] == {
        "role": "assistant",
        "content": "hello there",
        "refusal": None,
    }
    assert answer["choices"][0]["finish_reason"] == "stop"
    assert answer["usage"]["completion_tokens"] == 2
    assert answer["usage"]["total_tokens"] == answer["usage"]["prompt_tokens"] + 2


def test_it_cuts_an_answer_at_max_tokens(post):
    body = {
        "model": "matriz-echo",
        "max_tokens": 3,
        "messages": [{"role": "user", "content": "one two three four five six"}],
    }
    answer = post("/chat/completions", body).json()
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"]["completion_tokens"] == 3


def test_it_streams_chat_chunks_then_usage_then_done(post):
    body = {
        "model": "matriz-echo",
        "messages": USER,
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [{"type": "function", "function": {"name": "lookup"}}],
    }
    events = sse_events(post("/chat/completions", body))
    assert events[-1] == (None, "[DONE]")
    chunks = [json.loads(data) for _, data in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1]) == (
        "hello there"
    )
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == 2


def test_it_answers_from_memories_with_the_reasoning_chain(post, index):
    body = {
        "model": "lukhas-matriz-1",
        "messages": [{"role": "user", "content": "Why did the canary rollout stop?"}],
        "metadata": {"indexes": index["id"]},
    }
    answer = post("/chat/completions", body).json()
    assert "p95 latency doubled" in answer["choices"][0]["message"]["content"]
    stages = [link["stage"] for link in answer["lukhas"]["reasoning_chain"]]
    assert stages[0] == "memory" and "action" in stages
    assert answer["lukhas"]["memories"][0]["id"] == "canary"
    # By name, too; another owner's name is not found.
    body["metadata"] = {"indexes": "ops-notes"}
    assert post("/chat/completions", body).status_code == 200
    body["metadata"] = {"indexes": "nobody-has-this"}
    refused = post("/chat/completions", body)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "index_not_found"


def test_it_creates_stores_and_chains_responses(post, get):
    first = post("/responses", {"model": "matriz-echo", "input": "hello", "instructions": "hi"})
    first = first.json()
    assert first["object"] == "response" and first["status"] == "completed"
    assert first["id"].startswith("resp_")
    item = first["output"][0]
    assert item["type"] == "message" and item["id"].startswith("msg_")
    assert item["content"][0] == {
        "type": "output_text",
        "text": "hello",
        "annotations": [],
        "logprobs": [],
    }
    assert first["usage"]["output_tokens_details"] == {"reasoning_tokens": 0}
    assert first["text"] == {"format": {"type": "text"}}
    assert get(f"/responses/{first['id']}").json()["id"] == first["id"]
    items = [{"role": "user", "content": [{"type": "input_text", "text": "second"}]}]
    second = post(
        "/responses", {"model": "matriz-echo", "input": items, "previous_response_id": first["id"]}
    ).json()
    # The previous turn is context: its tokens count as input.
    assert second["usage"]["input_tokens"] > first["usage"]["input_tokens"] - 5
    assert second["output"][0]["content"][0]["text"] == "second"
    unknown = post("/responses", {"model": "matriz-echo", "previous_response_id": "resp_x"})
    assert unknown.status_code == 404
    not_stored = post("/responses", {"model": "matriz-echo", "input": "x", "store": False}).json()
    assert get(f"/responses/{not_stored['id']}").status_code == 404


def test_it_streams_response_events_in_the_sdk_order(post):
    events = sse_events(
        post("/responses", {"model": "matriz-echo", "input": "a b c", "stream": True})
    )
    kinds = [kind for kind, _ in events]
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
    assert set(kinds[4:-4]) == {"response.output_text.delta"}
    payloads = [json.loads(data) for _, data in events]
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    assert payloads[-1]["response"]["output"][0]["content"][0]["text"] == "a b c"


def test_it_fails_a_started_stream_in_band(post, index, monkeypatch):
    from matriz.facade import answer

    async def broken(self):
        raise answer.PipelineFailed("stage action failed")

    monkeypatch.setattr(answer.AnswerRun, "_local_text", broken)
    body = {"model": "lukhas-matriz-1", "input": "why?", "stream": True,
            "metadata": {"indexes": "ops-notes"}}  # fmt: skip
    response = post("/responses", body)
    assert response.status_code == 200
    kinds = [kind for kind, _ in sse_events(response)]
    assert kinds[-2:] == ["error", "response.failed"]


def test_it_embeds_floats_and_base64_with_dimensions(post):
    floats = post(
        "/embeddings", {"model": "lukhas-embed-1", "input": TEXTS, "dimensions": 256}
    ).json()
    assert floats["object"] == "list" and len(floats["data"]) == 2
    vector = np.array(floats["data"][0]["embedding"])
    assert vector.shape == (256,)
    assert abs(np.linalg.norm(vector) - 1) < 1e-5
    encoded = post(
        "/embeddings",
        {"model": "lukhas-embed-1", "input": TEXTS, "dimensions": 256,
         "encoding_format": "base64"},
    ).json()  # fmt: skip
    decoded = np.frombuffer(base64.b64decode(encoded["data"][0]["embedding"]), dtype="<f4")
    assert np.allclose(decoded, vector, atol=1e-6)
    assert floats["usage"]["prompt_tokens"] == floats["usage"]["total_tokens"] > 10


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": "lukhas-embed-1", "input": [1, -2, 3]}, 400, "input"),
        ({"model": "lukhas-embed-1", "input": [[1], [100256]]}, 400, "input"),
        ({"model": "lukhas-embed-1", "input": "x", "dimensions": 5000}, 400, "dimensions"),
        ({"model": "lukhas-embed-1", "input": "x", "dimensions": 1000}, 400, "dimensions"),
        ({"model": "matriz-echo", "input": "x"}, 404, "model"),
        ({"model": "lukhas-embed-1", "input": ""}, 400, "input"),
    ],
)
def test_it_refuses_bad_embedding_requests(post, body, status, param):
    refused = post("/embeddings", body)
    assert refused.status_code == status, refused.content
    assert refused.json()["error"]["param"].startswith(param)


def test_it_manages_indexes_items_and_queries(post, get, client, auth, index):
    assert index["object"] == "index" and index["id"].startswith("idx_")
    assert get(f"/indexes/{index['id']}").json()["item_count"] == 3
    for n in range(3):
        post("/indexes", {"name": f"more-{n}"})
    first = get("/indexes", limit=2).json()
    assert first["object"] == "list" and len(first["data"]) == 2 and first["has_more"]
    rest = get("/indexes", limit=2, after=first["last_id"]).json()
    assert not rest["has_more"] and len(rest["data"]) == 2
    assert get("/indexes", limit=101).status_code == 400
    hits = post(
        f"/indexes/{index['id']}/query",
        {"query": "who owns the kill switch", "top_k": 2, "filters": {"team": "safety"}},
    ).json()
    assert [hit["id"] for hit in hits["data"]] == ["killswitch"]
    deleted = post(f"/indexes/{index['id']}/items/delete", {"ids": ["train"]}).json()
    assert deleted["deleted"] == 1
    assert post("/indexes", {"name": "ops-notes"}).status_code == 409
    gone = client.delete(f"/v1/indexes/{index['id']}", headers=auth).json()
    assert gone == {"id": index["id"], "object": "index.deleted", "deleted": True}
    assert get(f"/indexes/{index['id']}").status_code == 404


def test_it_refuses_a_batch_above_the_limit(post, index, settings):
    settings.MATRIZ_MAX_BATCH = 2
    refused = post(f"/indexes/{index['id']}/items", {"items": MEMORIES})
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "items"


def test_it_queues_a_dream_and_lists_it(post, get, index, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        dream = post("/dreams", {"index": "ops-notes", "seed": "canary latency"}).json()
    assert dream["object"] == "dream" and dream["status"] == "queued"
    assert get(f"/dreams/{dream['id']}").json()["id"] == dream["id"]
    assert get("/dreams").json()["data"][0]["id"] == dream["id"]
    assert get("/dreams/dream_nope").status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "content_type", "param"),
    [
        ("/chat/completions", "{not json", "application/json", None),
        ("/chat/completions", "model=x", "application/x-www-form-urlencoded", None),
        ("/chat/completions", {"messages": USER}, "application/json", "model"),
        ("/chat/completions", {"model": "matriz-echo"}, "application/json", "messages"),
        ("/chat/completions", {"model": 3, "messages": USER}, "application/json", "model"),
        ("/chat/completions", {"model": "matriz-echo", "messages": "hi"}, "application/json",
         "messages"),
        ("/chat/completions", {"model": "matriz-echo", "messages": USER, "temperature": 3},
         "application/json", "temperature"),
        ("/chat/completions", {"model": "matriz-echo", "messages": USER, "bogus": 1},
         "application/json", "bogus"),
        ("/chat/completions", {"model": "matriz-echo", "messages": [
            {"role": "user", "content": "x" * (MAX_INPUT_CHARS + 1)}]}, "application/json",
         "messages[0].content.str"),
        ("/responses", {"model": "matriz-echo"}, "application/json", None),
        ("/responses", {"model": "matriz-echo", "input": "x" * (MAX_INPUT_CHARS + 1)},
         "application/json", "input.str"),
        ("/responses", {"model": "lukhas-matriz-1", "input": "x" * 40_000,
                        "metadata": {"indexes": "ops-notes"}}, "application/json", "input"),
        ("/responses", {"model": "matriz-echo", "input": [{"type": "function_call"}]},
         "application/json", "input[0].type"),
        ("/embeddings", {"model": "lukhas-embed-1"}, "application/json", "input"),
        ("/indexes", {"name": "Bad Name!"}, "application/json", "name"),
        ("/indexes", [], "application/json", None),
        ("/dreams", {"index": "ops-notes"}, "application/json", "seed"),
    ],
)  # fmt: skip
def test_it_answers_bad_input_with_a_4xx_envelope(post, index, path, body, content_type, param):
    refused = post(path, body, content_type=content_type)
    assert 400 <= refused.status_code < 500, refused.content
    error = refused.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    if param is not None:
        assert error["param"] is not None and error["param"].startswith(param.split(".")[0])


def test_it_refuses_without_a_key(client):
    refused = client.get("/v1/models", headers={"Authorization": "Bearer lk-nope"})
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
