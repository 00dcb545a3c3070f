"""What each simulated user of the soak load does (docs/soak-load.md).

Locust loads this file by path in its own process (``soak.load.runner``);
nothing imports it, and it imports neither Django nor the site (gevent
patches the interpreter it runs in). It reads:

- ``LUKHAS_SOAK_LOAD_PROFILE_FILE``: the validated profile as JSON (mix
  weights, rps, models, request timeout, max_requests);
- ``LUKHAS_SOAK_LOAD_KEY_FILE``: the ``soak`` tenant's API key (0600 file);
  never logged, never on a command line;
- ``LUKHAS_SOAK_LOAD_LEASE_FILE`` / ``_SECONDS`` (a soak's load): quit once
  the sentinel has not touched the lease file for that many seconds.

Each kind of request is a task weighted by the profile's mix; each user is
paced by ``constant_throughput(rps / users)``, so all users together make
at most ``rps`` requests per second. A streamed chat counts its time to the
end of the stream (``data: [DONE]``), not to its first byte.
"""

from __future__ import annotations

import csv
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gevent
from gevent.lock import Semaphore
from locust import HttpUser, constant_throughput, events, task
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

PROFILE = json.loads(Path(os.environ["LUKHAS_SOAK_LOAD_PROFILE_FILE"]).read_text())
API_KEY = Path(os.environ["LUKHAS_SOAK_LOAD_KEY_FILE"]).read_text().strip()
LABEL = os.environ.get("LUKHAS_SOAK_LOAD_LABEL", "soak-load")
INDEX = "soak-load"
INDEX_ITEMS = [
    {"id": "soak-1", "text": "The soak runs the release candidate for 48 hours."},
    {"id": "soak-2", "text": "Guardian denial rate stays under one percent."},
    {"id": "soak-3", "text": "PDP p95 stays under ten milliseconds."},
]
MIX = PROFILE["mix"]
TIMEOUT = float(PROFILE["request_timeout"])
MAX_REQUESTS = int(PROFILE["max_requests"])
LEASE_FILE = os.environ.get("LUKHAS_SOAK_LOAD_LEASE_FILE", "")
LEASE_SECONDS = float(os.environ.get("LUKHAS_SOAK_LOAD_LEASE_SECONDS") or 0)

_setup_lock = Semaphore()
_setup_done = False
_sent = 0
_quitting = False
_environment = None  # Locust's Environment, from the init event


@events.request.add_listener
def _bound(**_: object) -> None:
    """The profile's max_requests: the run ends once that many were made.

    The quit runs in a greenlet of its own: this listener runs in a user's
    greenlet, which quitting kills, and a quit killed half-way ends nothing.
    """
    global _sent, _quitting
    _sent += 1
    if MAX_REQUESTS and _sent >= MAX_REQUESTS and not _quitting:
        runner = _environment.runner if _environment is not None else None
        if runner is not None:
            _quitting = True
            gevent.spawn(runner.quit)


def _weighted(kind: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The task of ``kind`` with the profile's weight (0 = the kind is left out)."""

    def decorate(fn: Callable[..., None]) -> Callable[..., None]:
        return task(MIX.get(kind, 0))(fn) if MIX.get(kind, 0) else fn

    return decorate


class SoakUser(HttpUser):
    wait_time = constant_throughput(PROFILE["rps"] / PROFILE["users"])

    def on_start(self) -> None:
        self.client.headers.update(
            {"Authorization": f"Bearer {API_KEY}", "User-Agent": f"lukhas-soak-load/{LABEL}"}
        )
        if MIX.get("index_query"):
            self._ensure_index()

    def _ensure_index(self) -> None:
        """The tenant's ``soak-load`` index, made once per process."""
        global _setup_done
        with _setup_lock:
            if _setup_done:
                return
            with self.client.post(
                "/v1/indexes", json={"name": INDEX}, name="setup: create index",
                catch_response=True, timeout=TIMEOUT,
            ) as resp:  # fmt: skip
                if resp.status_code in (200, 201, 409):
                    resp.success()
            self.client.post(
                f"/v1/indexes/{INDEX}/items", json={"items": INDEX_ITEMS},
                name="setup: add items", timeout=TIMEOUT,
            )  # fmt: skip
            _setup_done = True

    def _json_ok(self, resp: Any, field: str) -> None:
        if resp.status_code != 200:
            resp.failure(f"HTTP {resp.status_code}")
            return
        try:
            body = resp.json()
        except ValueError:
            resp.failure("not JSON")
            return
        if field not in body:
            resp.failure(f"no {field!r} in the answer")

    @_weighted("chat")
    def chat(self) -> None:
        body = {
            "model": PROFILE["chat_model"],
            "messages": [{"role": "user", "content": "soak load: say something short"}],
        }
        with self.client.post(
            "/v1/chat/completions", json=body, name="chat", catch_response=True, timeout=TIMEOUT
        ) as resp:
            self._json_ok(resp, "choices")

    @_weighted("chat_stream")
    def chat_stream(self) -> None:
        body = {
            "model": PROFILE["chat_model"],
            "stream": True,
            "messages": [{"role": "user", "content": "soak load: stream something short"}],
        }
        started = time.perf_counter()
        with self.client.post(
            "/v1/chat/completions", json=body, name="chat (stream)", stream=True,
            catch_response=True, timeout=TIMEOUT,
        ) as resp:  # fmt: skip
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
                return
            done = False
            size = 0
            try:
                for line in resp.iter_lines():
                    size += len(line) + 1
                    if line.strip() == b"data: [DONE]":
                        done = True
            except Exception as exc:  # a broken stream is a failed request, whatever broke it
                resp.failure(f"stream broken: {type(exc).__name__}")
                return
            # The stream's whole time, not its first byte's.
            resp.request_meta["response_time"] = (time.perf_counter() - started) * 1000
            resp.request_meta["response_length"] = size
            if not done:
                resp.failure("stream ended without data: [DONE]")

    @_weighted("responses")
    def responses(self) -> None:
        body = {"model": PROFILE["chat_model"], "input": "soak load: a short response"}
        with self.client.post(
            "/v1/responses", json=body, name="responses", catch_response=True, timeout=TIMEOUT
        ) as resp:
            self._json_ok(resp, "output")

    @_weighted("embeddings")
    def embeddings(self) -> None:
        body = {"model": PROFILE["embed_model"], "input": ["soak load", "embeddings"]}
        with self.client.post(
            "/v1/embeddings", json=body, name="embeddings", catch_response=True, timeout=TIMEOUT
        ) as resp:
            self._json_ok(resp, "data")

    @_weighted("models")
    def models(self) -> None:
        with self.client.get(
            "/v1/models", name="models", catch_response=True, timeout=TIMEOUT
        ) as resp:
            self._json_ok(resp, "data")

    @_weighted("index_query")
    def index_query(self) -> None:
        body = {"query": "denial rate", "top_k": 2}
        with self.client.post(
            f"/v1/indexes/{INDEX}/query", json=body, name="index query",
            catch_response=True, timeout=TIMEOUT,
        ) as resp:  # fmt: skip
            self._json_ok(resp, "data")


@events.init.add_listener
def _keep_environment(environment: Any, **_: object) -> None:
    global _environment
    _environment = environment
    if LEASE_FILE and LEASE_SECONDS > 0:
        gevent.spawn(_watch_lease, environment)


def _watch_lease(environment: Any) -> None:
    """Quit when the lease is stale: the sentinel that renews it is gone."""
    global _quitting
    while True:
        gevent.sleep(min(10.0, max(0.5, LEASE_SECONDS / 4)))
        try:
            age = time.time() - os.stat(LEASE_FILE).st_mtime
        except OSError:
            age = float("inf")
        if age > LEASE_SECONDS and environment.runner is not None and not _quitting:
            print(f"soak load: lease not renewed for {age:.0f} s; quitting", flush=True)
            _quitting = True
            environment.runner.quit()
            return


@events.quitting.add_listener
def _final_stats(environment: Any, **_: object) -> None:
    """Write ``PREFIX_final_stats.csv`` / ``_final_failures.csv`` as the run ends.

    Locust rewrites ``PREFIX_stats.csv`` once a second and not at its end, so
    the last second's requests would be missing from it; the results reader
    prefers these final files when they exist.
    """
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if not prefix:
        return
    writer = StatsCSV(environment, PERCENTILES_TO_REPORT)
    for suffix, write in (("_final_stats.csv", writer.requests_csv),
                          ("_final_failures.csv", writer.failures_csv)):  # fmt: skip
        scratch = f"{prefix}{suffix}.tmp"
        with open(scratch, "w", newline="") as fh:
            write(csv.writer(fh))
        os.replace(scratch, prefix + suffix)  # a reader sees no half-written file
