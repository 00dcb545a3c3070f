"""``MatrizRuntime``: one per process, holding the pipeline and the loaded indexes."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings

from matriz.engine import (
    STAGE_ORDER,
    Orchestrator,
    QueryResult,
    RecallHit,
    Registry,
    Stage,
    default_registry,
)
from matriz.models import MemoryIndexModel
from matriz.runtime.indexes import IndexCache, LoadedIndex, RuntimeStoreView
from matriz.runtime.pipeline import NodeBuild, build_orchestrator
from matriz.runtime.validation import (
    check_deadline_ms,
    check_text,
    check_top_k,
    index_names,
    validate_filters,
)


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """A query whose arguments were checked: what to run, over which of the owner's indexes."""

    text: str
    owner: str
    names: tuple[str, ...]
    params: dict[str, Any]
    deadline_s: float | None
    query_id: str | None = None


class MatrizRuntime:
    def __init__(self, *, registry: Registry | None = None) -> None:
        self.registry = registry if registry is not None else default_registry
        self.indexes = IndexCache()
        self.store = RuntimeStoreView(self.indexes)
        self._lock = threading.Lock()
        self._orchestrator: Orchestrator | None = None
        self._builds: list[NodeBuild] = []
        self._runners = threading.local()

    # -- the pipeline -----------------------------------------------------------------

    def orchestrator(self) -> Orchestrator:
        """Built on first use, once per runtime (the registry is filled at boot)."""
        orchestrator = self._orchestrator
        if orchestrator is None:
            with self._lock:
                if self._orchestrator is None:
                    self._orchestrator, self._builds = build_orchestrator(self.registry, self.store)
                orchestrator = self._orchestrator
        return orchestrator

    def node_builds(self) -> list[NodeBuild]:
        self.orchestrator()
        return list(self._builds)

    def missing_stages(self, required: Sequence[str]) -> list[str]:
        specs = self.orchestrator().specs
        return [stage for stage in required if not specs[Stage(stage)].nodes]

    # -- indexes ----------------------------------------------------------------------

    def loaded(self, key: str) -> LoadedIndex:
        return self.indexes.get(key)

    def loaded_indexes(self) -> list[LoadedIndex]:
        return self.indexes.all()

    def sync(self, owner: str, names: Sequence[str]) -> list[str]:
        return self.indexes.sync(owner, names)

    def forget(self, key: str) -> None:
        self.indexes.forget(key)

    # -- queries ----------------------------------------------------------------------

    @staticmethod
    def _plan(
        text: Any, indexes: Any, deadline_ms: Any, top_k: Any, filters: Any, text_param: str
    ) -> tuple[list[str], dict[str, Any], float | None]:
        check_text(text, param=text_param)
        names = index_names(indexes)
        params: dict[str, Any] = {"top_k": check_top_k(top_k)}
        checked = validate_filters(filters)
        if checked:
            params["filters"] = checked
        return names, params, check_deadline_ms(deadline_ms)

    def plan(
        self,
        *,
        text: str,
        indexes: Sequence[str | MemoryIndexModel],
        owner: str,
        deadline_ms: float | None = None,
        top_k: int | None = None,
        filters: Mapping[str, Any] | None = None,
        query_id: str | None = None,
        text_param: str = "text",
    ) -> QueryPlan:
        """A query's arguments checked once (InvalidRequest naming ``text_param``), ready to run.

        The façade plans before a stream starts, so a bad query is a 400
        rather than an error inside the stream, and runs the plan later.
        """
        names, params, deadline_s = self._plan(
            text, indexes, deadline_ms, top_k, filters, text_param
        )
        return QueryPlan(
            text=text,
            owner=owner,
            names=tuple(names),
            params=params,
            deadline_s=deadline_s,
            query_id=query_id,
        )

    def run_plan(self, plan: QueryPlan) -> QueryResult:
        runner = self._runner()
        keys = self.sync(plan.owner, plan.names)
        coroutine = self._run_keys(plan, keys)
        # The caller's context (request id, current span) must reach the pipeline's spans.
        return runner.run(coroutine, context=contextvars.copy_context())

    async def arun_plan(self, plan: QueryPlan) -> QueryResult:
        keys = await sync_to_async(self.sync)(plan.owner, plan.names)
        return await self._run_keys(plan, keys)

    def _run_keys(self, plan: QueryPlan, keys: Sequence[str]) -> Any:
        return self.orchestrator().run(
            plan.text,
            index=",".join(keys),
            params=plan.params,
            deadline_s=plan.deadline_s,
            query_id=plan.query_id,
        )

    def run_query(
        self,
        *,
        text: str,
        indexes: Sequence[str | MemoryIndexModel],
        owner: str,
        deadline_ms: float | None = None,
        top_k: int | None = None,
        filters: Mapping[str, Any] | None = None,
        query_id: str | None = None,
    ) -> QueryResult:
        return self.run_plan(
            self.plan(
                text=text,
                indexes=indexes,
                owner=owner,
                deadline_ms=deadline_ms,
                top_k=top_k,
                filters=filters,
                query_id=query_id,
            )
        )

    async def arun_query(
        self,
        *,
        text: str,
        indexes: Sequence[str | MemoryIndexModel],
        owner: str,
        deadline_ms: float | None = None,
        top_k: int | None = None,
        filters: Mapping[str, Any] | None = None,
        query_id: str | None = None,
    ) -> QueryResult:
        return await self.arun_plan(
            self.plan(
                text=text,
                indexes=indexes,
                owner=owner,
                deadline_ms=deadline_ms,
                top_k=top_k,
                filters=filters,
                query_id=query_id,
            )
        )

    def recall(
        self,
        *,
        text: str,
        indexes: Sequence[str | MemoryIndexModel],
        owner: str,
        top_k: int | None = None,
        filters: Mapping[str, Any] | None = None,
        min_score: float | None = None,
    ) -> list[RecallHit]:
        """Top-K memories only (no pipeline): the search endpoint and the dream's associations."""
        names, params, _ = self._plan(text, indexes, None, top_k, filters, "text")
        keys = self.sync(owner, names)
        return self.store.recall(
            ",".join(keys),
            text,
            params["top_k"],
            filters=params.get("filters"),
            min_score=min_score,
        )

    def _runner(self) -> asyncio.Runner:
        """One event loop per thread, reused: a new loop per query costs more than the query."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("run_query was called from async code: await arun_query instead")
        runner = getattr(self._runners, "runner", None)
        if runner is None:
            runner = self._runners.runner = asyncio.Runner()
        return runner

    # -- what ops pages show ------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        orchestrator = self.orchestrator()
        builds = {build.node: build for build in self.node_builds() if build.node}
        stages = []
        for stage in STAGE_ORDER:
            spec = orchestrator.specs[stage]
            stages.append(
                {
                    "stage": stage.value,
                    "critical": spec.critical,
                    "timeout_ms": round(spec.timeout_s * 1000.0, 3),
                    "nodes": [
                        {
                            "name": node.name,
                            "plugin": builds[node.name].plugin if node.name in builds else None,
                            "built": builds[node.name].how if node.name in builds else None,
                        }
                        for node in spec.nodes
                    ],
                }
            )
        breakers = []
        for name, breaker in sorted(orchestrator.breakers.items()):
            failure_rate, slow_rate, calls = breaker.rates()
            breakers.append(
                {
                    "node": name,
                    "state": breaker.state.value,
                    "failure_rate": round(failure_rate, 2),
                    "slow_call_rate": round(slow_rate, 2),
                    "calls_in_window": calls,
                    "trips": breaker.trips,
                    "fallback": getattr(breaker.fallback, "name", None),
                }
            )
        return {
            "discovery": settings.MATRIZ_PLUGIN_DISCOVERY,
            "deadline_ms": round(orchestrator.deadline_s * 1000.0, 3),
            "stages": stages,
            "breakers": breakers,
            "unbuilt": [
                {"plugin": b.plugin, "how": b.how, "error": b.error}
                for b in self._builds
                if b.error is not None
            ],
            "router": orchestrator.router.snapshot(),
            "loaded_indexes": [
                {
                    "index": entry.key,
                    "version": entry.version,
                    "items": len(entry.index),
                    "bytes": entry.index.nbytes(),
                }
                for entry in self.loaded_indexes()
            ],
        }


# --- the process's runtime ----------------------------------------------------------

_runtime: MatrizRuntime | None = None
_runtime_lock = threading.Lock()


def get_runtime() -> MatrizRuntime:
    global _runtime
    runtime = _runtime
    if runtime is None:
        with _runtime_lock:
            if _runtime is None:
                _runtime = MatrizRuntime()
            runtime = _runtime
    return runtime


def reset_runtime(*, registry: Registry | None = None) -> MatrizRuntime:
    """Drop this process's pipeline and loaded indexes (tests; settings changed)."""
    global _runtime
    with _runtime_lock:
        _runtime = MatrizRuntime(registry=registry)
        return _runtime


def run_query(
    *,
    text: str,
    indexes: Sequence[str | MemoryIndexModel],
    owner: str,
    deadline_ms: float | None = None,
    top_k: int | None = None,
    filters: Mapping[str, Any] | None = None,
    query_id: str | None = None,
) -> QueryResult:
    """Run one query through the pipeline over ``owner``'s ``indexes`` (names).

    Raises InvalidRequest (bad text, filters, top_k, deadline) and NotFound (an
    index that ``owner`` does not have) before anything runs; failures inside
    the pipeline come back in the result (``status``, ``error``, ``chain``).
    """
    return get_runtime().run_query(
        text=text,
        indexes=indexes,
        owner=owner,
        deadline_ms=deadline_ms,
        top_k=top_k,
        filters=filters,
        query_id=query_id,
    )


async def arun_query(
    *,
    text: str,
    indexes: Sequence[str | MemoryIndexModel],
    owner: str,
    deadline_ms: float | None = None,
    top_k: int | None = None,
    filters: Mapping[str, Any] | None = None,
    query_id: str | None = None,
) -> QueryResult:
    """:func:`run_query` for async views: the version check runs in a thread, the pipeline here."""
    return await get_runtime().arun_query(
        text=text,
        indexes=indexes,
        owner=owner,
        deadline_ms=deadline_ms,
        top_k=top_k,
        filters=filters,
        query_id=query_id,
    )
