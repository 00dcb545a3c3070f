"""Stored chat completions through the official SDK: store, read, list, update, delete."""

from __future__ import annotations

import openai
import pytest

from tests.live import live_site  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sdk(live_site, mint_key):  # noqa: F811
    site = live_site()
    plaintext, _ = mint_key(tenant="store-a")
    other, _ = mint_key(tenant="store-b")
    client = openai.OpenAI(base_url=f"{site.base}/v1", api_key=plaintext, max_retries=0)
    client.stranger = openai.OpenAI(base_url=f"{site.base}/v1", api_key=other, max_retries=0)
    return client


def test_a_stored_completion_can_be_read_listed_updated_and_deleted(sdk):
    ask = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "ship the canary"},
    ]
    made = sdk.chat.completions.create(
        model="matriz-echo", messages=ask, store=True, metadata={"team": "release"}
    )
    streamed = sdk.chat.completions.create(
        model="matriz-echo",
        messages=[{"role": "user", "content": "second"}],
        store=True,
        stream=True,
        metadata={"team": "ops"},
    )
    list(streamed)
    sdk.chat.completions.create(model="matriz-echo", messages=ask)  # not stored

    got = sdk.chat.completions.retrieve(made.id)
    assert got.choices[0].message.content == "ship the canary"
    assert got.metadata == {"team": "release"}

    every = sdk.chat.completions.list()
    assert len(every.data) == 2 and every.data[0].id == made.id  # oldest first
    assert [c.id for c in sdk.chat.completions.list(metadata={"team": "ops"}).data] == [
        every.data[1].id
    ]
    assert sdk.chat.completions.list(model="lukhas-matriz-1").data == []

    messages = sdk.chat.completions.messages.list(made.id)
    assert [(m.role, m.content) for m in messages.data] == [
        ("system", "Be brief."),
        ("user", "ship the canary"),
    ]
    assert messages.data[0].id == f"{made.id}-0"

    updated = sdk.chat.completions.update(made.id, metadata={"team": "sre"})
    assert updated.metadata == {"team": "sre"}

    with pytest.raises(openai.NotFoundError):  # another tenant's id does not exist for it
        sdk.stranger.chat.completions.retrieve(made.id)

    deleted = sdk.chat.completions.delete(made.id)
    assert deleted.deleted and deleted.object == "chat.completion.deleted"
    with pytest.raises(openai.NotFoundError) as gone:
        sdk.chat.completions.retrieve(made.id)
    assert gone.value.body["code"] == "chat_completion_not_found"
