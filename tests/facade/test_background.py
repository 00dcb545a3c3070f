"""``background: true`` responses through the official SDK: a real worker answers, cancel stops.

The request is checked when it comes (a bad one is a 400 at once), kept
queued, answered by the ``background_response`` flow on a real Celery
worker, and polled with ``responses.retrieve``; ``responses.cancel`` stops
one still queued.
"""

from __future__ import annotations

import time

import openai
import pytest

from tests.live import live_site  # noqa: F401

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def sdk(live_site, mint_key):  # noqa: F811
    site = live_site()
    plaintext, _ = mint_key()
    return openai.OpenAI(base_url=f"{site.base}/v1", api_key=plaintext, max_retries=0)


def _until_done(sdk: openai.OpenAI, response_id: str, worker) -> object:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        polled = sdk.responses.retrieve(response_id)
        if polled.status not in ("queued", "in_progress"):
            return polled
        time.sleep(0.3)
    raise AssertionError(f"still {polled.status}: {worker.output()}")


def test_a_worker_answers_a_background_response_polled_with_retrieve(sdk, celery_worker):
    queued = sdk.responses.create(model="matriz-echo", input="answer me later", background=True)
    assert queued.status == "queued" and queued.background is True and queued.output == []
    done = _until_done(sdk, queued.id, celery_worker)
    assert done.status == "completed", (done.error, celery_worker.output()[-3000:])
    assert done.output_text == "answer me later"
    assert done.background is True and done.usage.total_tokens > 0
    follow = sdk.responses.create(
        model="matriz-echo", input="and again", previous_response_id=done.id
    )
    assert follow.output_text == "and again"  # the stored conversation continues
    with pytest.raises(openai.BadRequestError) as finished:
        sdk.responses.cancel(done.id)
    assert finished.value.body["code"] == "response_not_cancellable"


def test_a_queued_background_response_is_cancelled(sdk):
    queued = sdk.responses.create(model="matriz-echo", input="never mind", background=True)
    cancelled = sdk.responses.cancel(queued.id)  # no worker runs in this test: still queued
    assert cancelled.status == "cancelled"
    assert sdk.responses.retrieve(queued.id).status == "cancelled"
    assert sdk.responses.cancel(queued.id).status == "cancelled"  # again: the same answer


def test_background_requests_are_checked_at_once(sdk):
    with pytest.raises(openai.BadRequestError) as unstored:
        sdk.responses.create(model="matriz-echo", input="x", background=True, store=False)
    assert unstored.value.body["param"] == "store"
    with pytest.raises(openai.NotFoundError):
        sdk.responses.create(model="no-such-model", input="x", background=True)
    plain = sdk.responses.create(model="matriz-echo", input="now")
    with pytest.raises(openai.BadRequestError) as immediate:
        sdk.responses.cancel(plain.id)
    assert immediate.value.body["param"] == "response_id"
