"""Dreams run as jobs: the row is the dream, a ``dream`` flow (matriz/flows.py) runs it.

:func:`dream_submit` creates the Dream row and starts its job
(``jobs.services.job_start(kind="dream")``) in one transaction; after commit
the job's step task ``jobs.dream.dream`` is published with one quick,
non-retrying attempt, so a request never hangs on a broker that is down: it
answers 503 and the queued step waits for the jobs sweeper to send it again.
The step calls :func:`dream_execute`, which writes the dream's status and
results; the jobs machinery claims the step atomically, heartbeats it, and
resumes it (exactly once) when its worker dies. A job that ends without the
step writing (the sweeper gave up, a person cancelled it) is mirrored onto
the dream by :func:`dream_mirror_job_end` (the ``job_finished`` signal).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from jobs import services as jobs
from jobs.models import Job, JobStatus
from lukhas_site.errors import InvalidRequest, LukhasError, NotFound
from matriz import metrics, runtime
from matriz.engine import Stage
from matriz.models import (
    DREAM_FINISHED,
    Dream,
    DreamStatus,
    MemoryIndexModel,
)
from matriz.services.common import broker_refused

log = logging.getLogger(__name__)

MAX_DREAM_TOP_K = 50
DREAM_FLOW = "dream"


_broker_refused = broker_refused("dream", "GET /v1/dreams/{id}")


def dream_submit(
    *,
    index: MemoryIndexModel,
    seed: str,
    top_k: int | None = None,
    filters: Mapping[str, Any] | None = None,
    by: Any = None,
) -> Dream:
    """Save a dream over ``index`` seeded by ``seed`` and start its job; a worker runs it.

    Raises ServiceUnavailable (after the commit: the dream and its job stay
    queued, the jobs sweeper sends the step again) when the broker does not
    take the message.
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
        job = jobs.job_start(
            kind=DREAM_FLOW,
            params={"dream": dream.pk},
            target=dream,
            by=by or f"owner:{index.owner}",
            on_unsent=_broker_refused,
        )
        Dream.objects.filter(pk=dream.pk).update(job=job)
        dream.job = job
    return dream


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


def dream_execute(*, dream_id: int) -> dict[str, Any]:
    """Run a dream (the ``dream`` flow's step); its output is a summary for the job.

    The jobs machinery makes this run once per claim; it is idempotent on
    top of that: a dream that already succeeded (its worker died after
    writing it) is not dreamt again. A failure is written on the dream and
    raised, so the job fails with the same reason.
    """
    dream = Dream.objects.select_related("index").get(pk=dream_id)
    if dream.status == DreamStatus.SUCCEEDED:
        log.info("dream %s already succeeded: not dreamt again", dream.public_id)
        return {"dream": dream.public_id, "status": dream.status}
    now = timezone.now()
    Dream.objects.filter(pk=dream.pk).update(
        status=DreamStatus.RUNNING,
        started_at=now,
        finished_at=None,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    dream.refresh_from_db()
    log.info("dream %s running (attempt %d)", dream.public_id, dream.attempts)
    started = time.perf_counter()
    try:
        outcome = _dream(dream)
    except DreamFailed as exc:
        _dream_finish(dream, started, error=exc.message, chain=exc.chain)
        raise
    except LukhasError as exc:
        _dream_finish(dream, started, error=exc.message)
        raise DreamFailed(exc.message) from exc
    except Exception as exc:
        _dream_finish(dream, started, error=f"{type(exc).__name__}: {exc}")
        raise
    _dream_finish(dream, started, outcome=outcome)
    return {"dream": dream.public_id, "status": DreamStatus.SUCCEEDED.value}


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
    written = Dream.objects.filter(
        pk=dream.pk, status=DreamStatus.RUNNING, attempts=dream.attempts
    ).update(**fields)
    if not written:
        log.warning(
            "dream %s attempt %d finished after another attempt began: result dropped",
            dream.public_id, dream.attempts,
        )  # fmt: skip
        return
    metrics.DREAMS_TOTAL.labels(status.value).inc()
    metrics.DREAM_DURATION.observe(duration)
    log.info("dream %s %s in %.1f ms", dream.public_id, status.value, duration * 1000.0)


def dream_mirror_job_end(*, job: Job, **signal: Any) -> None:
    """A dream job ended: a dream not finished by its step (sweeper gave up, cancelled) fails.

    Runs inside the transaction that ends the job, so the two cannot disagree.
    """
    if job.kind != DREAM_FLOW or job.status == JobStatus.SUCCEEDED:
        return
    now = timezone.now()
    reason = job.error or f"its job was {job.status}"
    failed = (
        Dream.objects.filter(job=job)
        .exclude(status__in=DREAM_FINISHED)
        .update(status=DreamStatus.FAILED, error=reason, finished_at=now, updated_at=now)
    )
    if failed:
        metrics.DREAMS_TOTAL.labels(DreamStatus.FAILED.value).inc()
        log.warning("dream of job %s failed: %s", job.pk, reason)


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
