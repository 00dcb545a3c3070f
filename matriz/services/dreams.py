"""Dreams: published after commit, claimed atomically, kept alive by a heartbeat, swept.

A dream is a row first and a Celery message second: the row is committed,
then ``matriz.run_dream`` is published with a short, non-retrying publish so
a request never hangs on a broker that is down (it answers 503 and the
queued row waits for the sweep). A worker claims the row with one
conditional UPDATE and stamps ``heartbeat_at`` while it runs;
:func:`dreams_sweep` (beat) re-queues a running dream whose heartbeat
stopped — its worker was killed — and publishes queued dreams nobody did.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from lukhas_site.errors import InvalidRequest, LukhasError, NotFound, ServiceUnavailable
from matriz import metrics, runtime
from matriz.engine import Stage
from matriz.models import (
    Dream,
    DreamStatus,
    MemoryIndexModel,
)
from matriz.services.claims import ClaimSpec, Heartbeat, SweepReport, claims_publish, claims_sweep

log = logging.getLogger(__name__)

MAX_DREAM_TOP_K = 50
RUN_DREAM_TASK = "matriz.run_dream"
DREAM_CLAIMS = ClaimSpec(
    model=Dream,
    queued=DreamStatus.QUEUED,
    running=DreamStatus.RUNNING,
    failed=DreamStatus.FAILED,
    requeue_fields={"started_at": None},
)


def dream_publish(dream_id: int) -> None:
    """Hand ``matriz.run_dream`` to the broker once, quickly; raises if the broker refuses.

    No publish retries (kombu's default retries for seconds) and no result
    subscription (the row is the record, so the result backend is not
    touched): with Redis down this fails within the connect timeout.
    """
    current_app.send_task(
        RUN_DREAM_TASK,
        args=[dream_id],
        retry=False,
        ignore_result=True,
    )


def _publish_or_503(dream_id: int) -> None:
    if claims_publish(spec=DREAM_CLAIMS, pk=dream_id, publish=dream_publish):
        return
    raise ServiceUnavailable(
        "The dream was saved but could not be queued: the task broker is unreachable. "
        "It will be queued automatically once the broker is back; poll GET /v1/dreams/{id}.",
        code="broker_unavailable",
        headers={"Retry-After": str(int(max(1, settings.MATRIZ_DREAM_SWEEP_SECONDS)))},
    )


def dream_submit(
    *,
    index: MemoryIndexModel,
    seed: str,
    top_k: int | None = None,
    filters: Mapping[str, Any] | None = None,
) -> Dream:
    """Queue a dream over ``index`` seeded by ``seed``; a worker runs it after commit.

    Raises ServiceUnavailable (after the commit: the row stays queued, the
    sweep publishes it) when the broker does not take the message.
    """
    runtime.check_text(seed, param="seed")
    if top_k is not None and (
        isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= MAX_DREAM_TOP_K
    ):
        raise InvalidRequest(f"top_k must be an integer from 1 to {MAX_DREAM_TOP_K}", param="top_k")
    params: dict[str, Any] = {}
    if top_k is not None:
        params["top_k"] = top_k
    checked = runtime.validate_filters(filters)
    if checked:
        params["filters"] = checked
    with transaction.atomic():
        if not MemoryIndexModel.objects.filter(pk=index.pk).exists():
            raise NotFound("this memory index was deleted", code="index_not_found")
        dream = Dream.objects.create(
            owner=index.owner, index=index, index_name=index.name, seed=seed, params=params
        )
        pk = dream.pk
        transaction.on_commit(lambda: _publish_or_503(pk))
    return dream


def dreams_sweep() -> SweepReport:
    """Re-queue dreams whose worker died, fail those out of attempts, publish the unpublished."""
    now = timezone.now()
    report = claims_sweep(
        spec=DREAM_CLAIMS,
        stale_before=now - timedelta(seconds=settings.MATRIZ_DREAM_STALE_SECONDS),
        lost_before=now - timedelta(seconds=settings.BROKER_VISIBILITY_TIMEOUT),
        max_attempts=settings.MATRIZ_DREAM_MAX_ATTEMPTS,
        publish=dream_publish,
    )
    for _ in report.failed:
        metrics.DREAMS_TOTAL.labels(DreamStatus.FAILED.value).inc()
    return report


class DreamFailed(Exception):
    def __init__(self, message: str, *, chain: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.chain = chain or []


@dataclass(slots=True)
class DreamOutcome:
    narrative: str
    chain: list[dict[str, Any]]
    associations: list[dict[str, Any]]
    memory_ids: list[str]


def dream_run(*, dream_id: int) -> Dream | None:
    """Claim and run a dream; None when it is not this caller's to run (done, or running).

    The claim is one conditional UPDATE of a queued row, so two workers
    handed the same task (acks_late redelivery, a sweep's re-publish) cannot
    both run it; a running dream is never claimed here — if its worker died,
    the sweep re-queues it once its heartbeat is stale. The result is
    written only if the row is still this attempt's, so a run that outlived
    its heartbeat cannot overwrite the run that replaced it.
    """
    now = timezone.now()
    claimed = Dream.objects.filter(pk=dream_id, status=DreamStatus.QUEUED).update(
        status=DreamStatus.RUNNING,
        started_at=now,
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    if claimed != 1:
        log.info("dream %s not claimed: already running or finished", dream_id)
        return None
    dream = Dream.objects.select_related("index").get(pk=dream_id)
    log.info("dream %s claimed (attempt %d)", dream.public_id, dream.attempts)
    started = time.perf_counter()
    with Heartbeat(
        spec=DREAM_CLAIMS,
        pk=dream.pk,
        every=settings.MATRIZ_DREAM_HEARTBEAT_SECONDS,
        guard={"attempts": dream.attempts},
    ):
        try:
            outcome = _dream(dream)
        except DreamFailed as exc:
            _dream_finish(dream, started, error=exc.message, chain=exc.chain)
        except LukhasError as exc:
            _dream_finish(dream, started, error=exc.message)
        except Exception as exc:
            _dream_finish(dream, started, error=f"{type(exc).__name__}: {exc}")
            raise
        else:
            _dream_finish(dream, started, outcome=outcome)
    dream.refresh_from_db()
    return dream


def _dream_finish(
    dream: Dream,
    started: float,
    *,
    outcome: DreamOutcome | None = None,
    error: str | None = None,
    chain: list[dict[str, Any]] | None = None,
) -> None:
    duration = time.perf_counter() - started
    now = timezone.now()
    status = DreamStatus.SUCCEEDED if outcome is not None else DreamStatus.FAILED
    fields: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "updated_at": now,
        "duration_ms": round(duration * 1000.0, 3),
    }
    if outcome is not None:
        fields.update(
            narrative=outcome.narrative,
            chain=outcome.chain,
            associations=outcome.associations,
            memory_ids=outcome.memory_ids,
            error="",
        )
    else:
        fields.update(error=error or "failed", chain=chain or [])
    with transaction.atomic():
        written = Dream.objects.filter(
            pk=dream.pk, status=DreamStatus.RUNNING, attempts=dream.attempts
        ).update(**fields)
    if not written:
        log.warning(
            "dream %s attempt %d finished after it was re-queued: result dropped",
            dream.public_id, dream.attempts,
        )  # fmt: skip
        return
    metrics.DREAMS_TOTAL.labels(status.value).inc()
    metrics.DREAM_DURATION.observe(duration)
    log.info("dream %s %s in %.1f ms", dream.public_id, status.value, duration * 1000.0)


_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def _gist(text: str, limit: int = 160) -> str:
    """The first sentence of ``text``, without its final stop, cut at ``limit`` characters."""
    first = _SENTENCE_END.split(" ".join(text.split()), maxsplit=1)[0].rstrip(". ")
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def _dream(dream: Dream) -> DreamOutcome:
    """Recall through the pipeline, drift by association, weave the narrative. Deterministic."""
    if dream.index is None:
        raise DreamFailed(f"memory index {dream.index_name!r} was deleted before the dream ran")
    runtime_ = runtime.get_runtime()
    index_name, owner = dream.index.name, dream.owner
    top_k, filters = dream.params.get("top_k"), dream.params.get("filters")
    result = runtime_.run_query(
        text=dream.seed,
        indexes=[index_name],
        owner=owner,
        deadline_ms=settings.MATRIZ_DREAM_DEADLINE_MS,
        top_k=top_k,
        filters=filters,
        query_id=dream.public_id,
    )
    chain = [link.to_dict() for link in result.chain]
    if not result.ok:
        error = result.error
        raise DreamFailed(
            f"the pipeline stopped at the {error.stage.value} stage ({error.kind}): "
            f"{error.message}",
            chain=chain,
        )
    by_id = {hit.id: hit for hit in result.memories}
    attention = result.outputs.get(Stage.ATTENTION) or []
    focus = [by_id[entry["id"]] for entry in attention if entry.get("id") in by_id][:3]
    focus = focus or list(result.memories)[:3]
    if not focus:
        return DreamOutcome(
            narrative=f"Nothing in {index_name!r} resonates with “{_gist(dream.seed, 120)}”: "
            "there is no memory to dream from yet.",
            chain=chain,
            associations=[],
            memory_ids=[],
        )
    seen = set(by_id)
    associations: list[dict[str, Any]] = []
    drifts = []
    for hit in focus:
        neighbours = runtime_.recall(
            text=hit.text, indexes=[index_name], owner=owner, top_k=4, filters=filters
        )
        drift = next((n for n in neighbours if n.id not in seen), None)
        if drift is not None:
            seen.add(drift.id)
        drifts.append(drift)
        associations.append(
            {
                "from": hit.id,
                "to": drift.id if drift else None,
                "similarity": round(drift.score, 6) if drift else None,
            }
        )
    parts = [f"A dream seeded by “{_gist(dream.seed, 120)}”."]
    for position, (hit, drift) in enumerate(zip(focus, drifts, strict=True)):
        lead = "It opens on" if position == 0 else "Then it turns to"
        sentence = f"{lead} “{_gist(hit.text)}”"
        if drift is not None:
            sentence += f", which drifts toward “{_gist(drift.text)}”"
        parts.append(sentence + ".")
    memory_ids = list(dict.fromkeys([h.id for h in focus] + [d.id for d in drifts if d]))
    decision = result.outputs.get(Stage.DECISION) or {}
    confidence = decision.get("confidence")
    waking = f"It wakes having woven {len(memory_ids)} memories together"
    parts.append(waking + (f" (confidence {confidence:.2f})." if confidence is not None else "."))
    return DreamOutcome(
        narrative=" ".join(parts), chain=chain, associations=associations, memory_ids=memory_ids
    )
