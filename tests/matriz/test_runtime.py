"""The process runtime: lazy loads, one version check per query, deltas, other processes."""

from __future__ import annotations

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async

from lukhas_site.errors import InvalidRequest, NotFound
from matriz import services
from matriz.models import MemoryIndexModel
from matriz.runtime import arun_query, get_runtime, run_query

pytestmark = pytest.mark.django_db

CANARY = "The canary rollout stopped at 5 percent."


def _sync_outcomes() -> dict[str, float]:
    from prometheus_client import REGISTRY

    return {
        outcome: REGISTRY.get_sample_value("matriz_index_sync_total", {"outcome": outcome}) or 0.0
        for outcome in ("current", "delta", "full")
    }


def test_it_answers_a_query_with_its_reasoning_chain(make_index):
    make_index(texts=[CANARY, "Guardian denied the key without a scope."])
    result = run_query(text="why did the canary stop?", indexes=["notes"], owner="acme")
    payload = result.to_dict()
    assert payload["status"] == "ok"
    assert "canary rollout stopped" in payload["answer"]
    assert [link["stage"] for link in payload["chain"]] == [
        "memory", "attention", "thought", "action", "decision", "awareness",
    ]  # fmt: skip
    assert payload["chain"][0]["node"] == "memory.recall"
    assert payload["memories"][0]["id"].startswith("mem_")


def test_it_loads_an_index_lazily_and_checks_its_version_with_one_query(
    make_index, django_assert_num_queries
):
    make_index(texts=[CANARY])
    runtime = get_runtime()
    assert runtime.loaded_indexes() == []  # nothing loaded before the first query
    before = _sync_outcomes()
    with django_assert_num_queries(2):  # version check + the full load
        run_query(text="canary", indexes=["notes"], owner="acme")
    with django_assert_num_queries(1):  # the version check only
        run_query(text="canary", indexes=["notes"], owner="acme")
    after = _sync_outcomes()
    assert after["full"] - before["full"] == 1
    assert after["current"] - before["current"] == 1
    [loaded] = runtime.loaded_indexes()
    assert (loaded.key, loaded.version, len(loaded.index)) == ("acme/notes", 1, 1)


def test_it_applies_writes_as_a_delta_before_the_next_query(make_index, django_assert_num_queries):
    index = make_index(texts=[CANARY])
    run_query(text="canary", indexes=["notes"], owner="acme")
    services.items_add(index=index, items=[{"id": "new", "text": "A hotfix restarted the canary."}])
    before = _sync_outcomes()
    with django_assert_num_queries(2):  # version check + the rows stamped above v1
        result = run_query(text="hotfix restarted", indexes=["notes"], owner="acme")
    assert _sync_outcomes()["delta"] - before["delta"] == 1
    assert result.memories[0].id == "new"

    services.items_add(index=index, items=[{"id": "new", "text": "Replaced: the canary resumed."}])
    services.items_delete(index=index, ids=[result.memories[1].id])
    result = run_query(text="canary", indexes=["notes"], owner="acme")
    assert [hit.id for hit in result.memories] == ["new"]
    assert result.memories[0].text == "Replaced: the canary resumed."
    assert get_runtime().loaded_indexes()[0].version == 4


def test_it_reloads_in_full_when_the_index_was_recreated_or_tombstones_purged(make_index):
    index = make_index(texts=[CANARY])
    run_query(text="canary", indexes=["notes"], owner="acme")
    services.index_delete(index=index)
    with pytest.raises(NotFound, match="no memory index named 'notes' for owner 'acme'"):
        run_query(text="canary", indexes=["notes"], owner="acme")
    assert get_runtime().loaded_indexes() == []

    make_index(texts=["A different memory entirely."])
    result = run_query(text="canary", indexes=["notes"], owner="acme")
    assert [hit.text for hit in result.memories] == ["A different memory entirely."]

    # A purge the delta cannot see past: the process reloads from scratch.
    again = MemoryIndexModel.objects.get(owner="acme", name="notes")
    services.items_add(index=again, items=[{"text": "A third memory."}])
    MemoryIndexModel.objects.filter(pk=again.pk).update(purged_version=2)
    before = _sync_outcomes()
    run_query(text="canary", indexes=["notes"], owner="acme")
    assert _sync_outcomes()["full"] - before["full"] == 1


def test_it_recalls_across_several_indexes_merged_by_score(make_index):
    make_index("notes", texts=[CANARY])
    make_index("incidents", texts=["The canary rollout stopped again at 10 percent."])
    make_index("unrelated", owner="globex", texts=["canary canary canary"])
    result = run_query(
        text="canary rollout stopped", indexes=["incidents", "notes"], owner="acme", top_k=5
    )
    texts = [hit.text for hit in result.memories]
    assert set(texts) == {CANARY, "The canary rollout stopped again at 10 percent."}
    scores = [hit.score for hit in result.memories]
    assert scores == sorted(scores, reverse=True)
    with pytest.raises(NotFound, match="'unrelated'"):
        run_query(text="canary", indexes=["notes", "unrelated"], owner="acme")


@pytest.mark.parametrize(
    ("kwargs", "param"),
    [
        ({"text": ""}, "text"),
        ({"indexes": []}, "indexes"),
        ({"indexes": "notes"}, "indexes"),
        ({"top_k": 0}, "top_k"),
        ({"deadline_ms": 0}, "deadline_ms"),
        ({"filters": {"team": {"$gt": 1}}}, "filters.team"),
    ],
)
def test_it_refuses_a_bad_query_before_running_it(make_index, kwargs, param):
    make_index(texts=[CANARY])
    args = {"text": "canary", "indexes": ["notes"], "owner": "acme", **kwargs}
    with pytest.raises(InvalidRequest) as refused:
        run_query(**args)
    assert refused.value.param == param


def test_it_cuts_a_query_at_its_deadline_and_says_where(make_index):
    make_index(texts=[CANARY])
    result = run_query(text="canary", indexes=["notes"], owner="acme", deadline_ms=0.001)
    assert result.status == "error"
    assert result.error.kind == "deadline_exceeded"


def _close_connection() -> None:
    from django.db import connection

    connection.close()


@pytest.mark.django_db(transaction=True)  # the version check runs in asgiref's thread
def test_it_runs_from_async_code(make_index):
    make_index(texts=[CANARY])

    async def ask() -> str:
        with pytest.raises(RuntimeError, match="await arun_query"):
            run_query(text="canary", indexes=["notes"], owner="acme")
        result = await arun_query(text="canary", indexes=["notes"], owner="acme")
        await sync_to_async(_close_connection)()  # the executor thread's own connection
        return result.answer

    assert "canary rollout stopped" in asyncio.run(ask())


@pytest.mark.django_db(transaction=True)
def test_it_loads_once_when_threads_query_a_stale_index_together(make_index):
    make_index(texts=[CANARY, "Another memory."])
    before = _sync_outcomes()
    answers, errors = [], []

    def ask() -> None:
        from django.db import connection

        try:
            answers.append(run_query(text="canary", indexes=["notes"], owner="acme").answer)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(answers)) == 1
    assert _sync_outcomes()["full"] - before["full"] == 1


@pytest.mark.django_db(transaction=True)
def test_it_sees_what_another_process_wrote_on_its_next_query(make_index, other_process):
    index = make_index(texts=[CANARY])
    assert [h.text for h in run_query(text="hotfix", indexes=["notes"], owner="acme").memories] == [
        CANARY
    ]
    other_process(
        """
        from matriz import selectors, services
        index = selectors.index_get(owner="acme", name="notes")
        services.items_add(index=index, items=[{"id": "hf", "text": "A hotfix shipped at noon."}])
        old = index.items.exclude(public_id="hf").get().public_id
        services.items_delete(index=index, ids=[old])
        """
    )
    result = run_query(text="hotfix", indexes=["notes"], owner="acme")
    assert [hit.id for hit in result.memories] == ["hf"]
    index.refresh_from_db()
    assert get_runtime().loaded_indexes()[0].version == index.version == 3


def test_it_traces_each_query_under_the_callers_span(make_index):
    from opentelemetry import trace

    make_index(texts=[CANARY])
    tracer = trace.get_tracer("tests.matriz")
    for _ in range(2):  # the thread's event loop is reused; the caller's context is not stale
        with tracer.start_as_current_span("request") as request_span:
            result = run_query(text="canary", indexes=["notes"], owner="acme")
        assert result.trace_id == format(request_span.get_span_context().trace_id, "032x")
