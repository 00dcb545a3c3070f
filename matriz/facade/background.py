"""The worker's side of ``background: true``: answer a queued response as the request would have.

The request was checked when it came (model, indexes, tools, formats) and
kept with the response; the ``background_response`` flow's step
(matriz/flows.py) calls :func:`answer_in_background`, which answers it with
the same code as an immediate answer, under the same key's scopes, and
writes the result unless the response was cancelled meanwhile.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.utils import timezone

from guardian.models import APIKey
from guardian.principals import Principal, key_principal, user_principal
from guardian.ratelimit import charge_tokens
from matriz import services
from matriz.facade.answer import AnswerRun
from matriz.facade.responses import answer_body, prepare_response
from matriz.facade.schemas import ResponseCreateIn
from matriz.facade.tokens import count_message_tokens
from matriz.models import StoredResponse
from matriz.services.responses import RESPONSE_OPEN

log = logging.getLogger(__name__)


def _principal(ref: dict[str, Any]) -> Principal | None:
    """The caller again, from the stored reference (None when the key is gone or revoked)."""
    if ref.get("kind") == "api_key":
        key = (
            APIKey.objects.select_related("tenant")
            .filter(pk=ref.get("id"), revoked=False)
            .exclude(expires_at__lt=timezone.now())
            .first()
        )
        return key_principal(key) if key is not None else None
    if ref.get("kind") == "user":
        user = get_user_model().objects.filter(pk=ref.get("id"), is_active=True).first()
        return user_principal(user) if user is not None else None
    return None


def answer_in_background(*, response_pk: int) -> dict[str, Any]:
    """Answer a queued background response (the flow step); idempotent on a finished one."""
    stored = StoredResponse.objects.get(pk=response_pk)
    if stored.body.get("status") not in RESPONSE_OPEN:
        return {"response": stored.public_id, "status": stored.body.get("status")}
    services.response_status_set(pk=stored.pk, status="in_progress", only_from=RESPONSE_OPEN)
    payload = ResponseCreateIn.model_validate(stored.request)
    turn, answered, conversation = prepare_response(payload, stored.owner)
    principal = _principal(stored.principal_ref)
    turn.principal = principal
    run = AnswerRun(turn)
    body, usage = async_to_sync(answer_body)(
        payload,
        run,
        count_message_tokens(answered),
        stored.public_id,
        int(stored.body.get("created_at") or 0),
    )
    written = services.response_finish(
        pk=stored.pk,
        body=body,
        conversation=conversation,
        output_text=run.text,
        tool_calls=run.tool_calls.all(),
    )
    if written and usage is not None and principal is not None:
        charge_tokens(principal, usage["total_tokens"])
    if not written:
        log.info("background response %s was cancelled while answering", stored.public_id)
    return {"response": stored.public_id, "status": body["status"] if written else "cancelled"}
