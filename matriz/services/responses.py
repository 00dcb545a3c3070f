"""Stored /v1/responses: the one write of ``POST /v1/responses`` with ``store`` true."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from jobs import services as jobs
from jobs.models import Job, JobStatus
from lukhas_site.errors import InvalidRequest
from matriz import selectors
from matriz.models import StoredChatCompletion, StoredResponse
from matriz.services.common import broker_refused

BACKGROUND_FLOW = "background_response"
RESPONSE_OPEN = ("queued", "in_progress")


def response_store(
    *,
    public_id: str,
    owner: str,
    model: str,
    conversation: list[dict[str, Any]],
    output_text: str,
    body: dict[str, Any],
    input_items: list[dict[str, Any]] | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
) -> StoredResponse:
    """Keep an answered response: its conversation (with the answer) and the object GET returns.

    An answer that called tools keeps its calls in the conversation, so a
    follow-up with ``previous_response_id`` and the ``function_call_output``
    items reads as the exchange it is.
    """
    answer: dict[str, Any] = {"role": "assistant", "content": output_text}
    if tool_calls:
        answer = {"role": "assistant", "content": output_text or None, "tool_calls": tool_calls}
    return StoredResponse.objects.create(
        public_id=public_id,
        owner=owner,
        model=model,
        input_messages=[*conversation, answer],
        output_text=output_text,
        body=body,
        input_items=list(input_items or []),
    )


def response_delete(*, owner: str, public_id: str) -> None:
    """Forget a stored response of the owner (404 for anyone else's, as for a read).

    A later response that named it as ``previous_response_id`` keeps its own
    copy of the conversation, so deleting never changes another answer.
    """
    selectors.response_get(owner=owner, public_id=public_id).delete()


def chat_completion_store(
    *,
    owner: str,
    body: dict[str, Any],
    messages: list[dict[str, Any]],
    metadata: dict[str, str] | None,
) -> StoredChatCompletion:
    """Keep an answered chat completion (``store: true``) with its request's messages."""
    numbered = [{**m, "id": f"{body['id']}-{n}"} for n, m in enumerate(messages)]
    return StoredChatCompletion.objects.create(
        public_id=body["id"],
        owner=owner,
        model=body.get("model", ""),
        metadata=dict(metadata or {}),
        body=body,
        messages=numbered,
    )


def chat_completion_update(
    *, owner: str, public_id: str, metadata: dict[str, str] | None
) -> StoredChatCompletion:
    """Replace a stored completion's metadata (OpenAI's only modifiable field)."""
    stored = selectors.chat_completion_get(owner=owner, public_id=public_id)
    stored.metadata = dict(metadata or {})
    stored.save(update_fields=["metadata", "updated_at"])
    return stored


def chat_completion_delete(*, owner: str, public_id: str) -> None:
    selectors.chat_completion_get(owner=owner, public_id=public_id).delete()


# --- background responses -----------------------------------------------------------


_broker_refused = broker_refused("response", "GET /v1/responses/{id}")


def response_queue(
    *,
    owner: str,
    body: dict[str, Any],
    request: dict[str, Any],
    principal_ref: dict[str, Any],
    input_items: list[dict[str, Any]],
) -> StoredResponse:
    """Keep a ``background: true`` response queued and start the job that answers it."""
    with transaction.atomic():
        stored = StoredResponse.objects.create(
            public_id=body["id"],
            owner=owner,
            model=body.get("model", ""),
            body=body,
            request=request,
            principal_ref=principal_ref,
            input_items=input_items,
        )
        job = jobs.job_start(
            kind=BACKGROUND_FLOW,
            params={"response": stored.pk},
            target=stored,
            by=f"owner:{owner}",
            on_unsent=_broker_refused,
        )
        StoredResponse.objects.filter(pk=stored.pk).update(job=job)
        stored.job = job
    return stored


def response_status_set(*, pk: int, status: str, only_from: tuple[str, ...]) -> bool:
    """Move a stored response's status (in its body) if it is still in one of ``only_from``."""
    with transaction.atomic():
        stored = StoredResponse.objects.select_for_update().filter(pk=pk).first()
        if stored is None or stored.body.get("status") not in only_from:
            return False
        stored.body = {**stored.body, "status": status}
        stored.save(update_fields=["body", "updated_at"])
    return True


def response_finish(
    *,
    pk: int,
    body: dict[str, Any],
    conversation: list[dict[str, Any]],
    output_text: str,
    tool_calls: list[dict[str, Any]] | None = None,
) -> bool:
    """Write a background response's answer, unless it was cancelled meanwhile."""
    answer: dict[str, Any] = {"role": "assistant", "content": output_text}
    if tool_calls:
        answer = {"role": "assistant", "content": output_text or None, "tool_calls": tool_calls}
    with transaction.atomic():
        stored = StoredResponse.objects.select_for_update().filter(pk=pk).first()
        if stored is None or stored.body.get("status") not in RESPONSE_OPEN:
            return False
        stored.body = {**body, "id": stored.public_id, "background": True}
        stored.output_text = output_text
        stored.input_messages = [*conversation, answer]
        stored.save(update_fields=["body", "output_text", "input_messages", "updated_at"])
    return True


def response_cancel(*, owner: str, public_id: str, by: str) -> dict[str, Any]:
    """Cancel a queued or running background response; cancelling it again returns it."""
    stored = selectors.response_get(owner=owner, public_id=public_id)
    status = stored.body.get("status")
    if not stored.request:
        raise InvalidRequest(
            "only background responses can be cancelled; this one was answered at once",
            param="response_id",
        )
    if status == "cancelled":
        return stored.body
    if status not in RESPONSE_OPEN:
        raise InvalidRequest(
            f"this response is already {status}: only a queued or in-progress one can be cancelled",
            param="response_id",
            code="response_not_cancellable",
        )
    response_status_set(pk=stored.pk, status="cancelled", only_from=RESPONSE_OPEN)
    if stored.job is not None:
        jobs.job_cancel(job=stored.job, by=by, reason="the response was cancelled")
    stored.refresh_from_db()
    return stored.body


def response_mirror_job_end(*, job: Job, **signal: Any) -> None:
    """A background job ended without its step writing (sweeper gave up): the response fails."""
    if job.kind != BACKGROUND_FLOW or job.status == JobStatus.SUCCEEDED:
        return
    pk = (job.params or {}).get("response")
    status = "cancelled" if job.status == JobStatus.CANCELLED else "failed"
    if response_status_set(pk=pk, status=status, only_from=RESPONSE_OPEN) and status == "failed":
        stored = StoredResponse.objects.get(pk=pk)
        error = {"code": "server_error", "message": job.error or "the background job failed"}
        stored.body = {**stored.body, "error": error}
        stored.save(update_fields=["body", "updated_at"])
