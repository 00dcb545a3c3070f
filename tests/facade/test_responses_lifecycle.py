"""The Responses lifecycle through the official SDK: incomplete answers, input items, delete."""

from __future__ import annotations

import openai
import pytest

from tests.live import live_site  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LONG = " ".join(f"word{n}" for n in range(200))


@pytest.fixture
def site(live_site):  # noqa: F811
    return live_site()


@pytest.fixture
def sdk(site, mint_key):
    plaintext, _ = mint_key()
    return openai.OpenAI(base_url=f"{site.base}/v1", api_key=plaintext, max_retries=0, timeout=30)


def test_it_says_incomplete_when_max_output_tokens_cuts_the_answer(sdk):
    cut = sdk.responses.create(model="matriz-echo", input=LONG, max_output_tokens=16)
    assert cut.status == "incomplete"
    assert cut.incomplete_details.reason == "max_output_tokens"
    assert 0 < len(cut.output_text) < len(LONG)
    assert sdk.responses.retrieve(cut.id).status == "incomplete"
    whole = sdk.responses.create(model="matriz-echo", input="short", max_output_tokens=16)
    assert (whole.status, whole.incomplete_details) == ("completed", None)

    events = list(
        sdk.responses.create(model="matriz-echo", input=LONG, max_output_tokens=16, stream=True)
    )
    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"


def test_it_lists_a_responses_input_items_page_by_page(sdk):
    asked = [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "noted"},
        {"role": "user", "content": "second"},
    ]
    answer = sdk.responses.create(model="matriz-echo", input=asked)
    newest_first = sdk.responses.input_items.list(answer.id)
    texts = [item.content[0].text for item in newest_first.data]
    assert texts == ["second", "noted", "first", "be brief"]
    assert newest_first.data[1].content[0].type == "output_text"
    oldest_first = sdk.responses.input_items.list(answer.id, order="asc", limit=2)
    assert [item.content[0].text for item in oldest_first.data] == ["be brief", "first"]
    assert oldest_first.has_more
    # The SDK's auto-pagination follows the `after` cursor to the end.
    every = [item.content[0].text for item in sdk.responses.input_items.list(answer.id, limit=1)]
    assert every == texts
    # A follow-up's items are its own input, not the whole conversation.
    follow = sdk.responses.create(
        model="matriz-echo", input="third", previous_response_id=answer.id
    )
    assert [i.content[0].text for i in sdk.responses.input_items.list(follow.id).data] == ["third"]
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.responses.input_items.list(answer.id, after="msg_nope")
    assert bad.value.param == "after"


def test_it_deletes_a_stored_response_and_only_the_owners(sdk, site, mint_key):
    answer = sdk.responses.create(model="matriz-echo", input="forget me")
    other_key, _ = mint_key(tenant="someone-else")
    other = openai.OpenAI(base_url=f"{site.base}/v1", api_key=other_key, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        other.responses.delete(answer.id)
    sdk.responses.delete(answer.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.retrieve(answer.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.delete(answer.id)
    with pytest.raises(openai.NotFoundError):
        sdk.responses.input_items.list(answer.id)
