"""The probe source against a live site: the façade smoke and the headers guard.

One site for the module; a broken site is the same site behind a small
forwarding proxy of this module's own that breaks one route (a 500) or
drops headers from some answers, so each failure is one the probe must see.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import redis

from guardian import services as guardian_services
from guardian.models import APIKey
from soak.gates import GateSpec
from soak.sources import probe
from soak.sources.base import MeasureContext, SourceError
from tests.guardian.helpers import LiveSite, free_port
from tests.services import worker_env

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
SMOKE = GateSpec(
    id="facade-smoke", title="smoke", source="probe", probe="facade_smoke", comparator="==",
    threshold=1,
)  # fmt: skip
HEADERS = SMOKE.model_copy(update={"id": "openapi-headers", "probe": "headers_guard"})
HOP_BY_HOP = {"connection", "transfer-encoding", "content-length", "keep-alive", "content-encoding"}


def _ctx(target: str) -> MeasureContext:
    return MeasureContext(
        run_id=1, release="v1-rc", target_url=target, now=NOW, started_at=NOW, window_start=NOW
    )


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[LiveSite]:
    prefix = f"lukhas-test:{uuid.uuid4().hex[:12]}:guardian"
    with django_db_blocker.unblock():
        env = worker_env(
            LUKHAS_GUARDIAN_REDIS_PREFIX=prefix,
            LUKHAS_LOG_LEVEL="WARNING",
            OTEL_TRACES_EXPORTER="none",
        )
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    live = LiveSite(env, tmp_path_factory.mktemp("probe-site") / "uvicorn.log").start()
    yield live
    live.stop()
    url = env.get("LUKHAS_GUARDIAN_REDIS_URL") or env.get("REDIS_URL")
    if url:
        client = redis.Redis.from_url(url, socket_timeout=1)
        for found in client.scan_iter(match=f"{prefix}:*", count=500):
            client.delete(found)


@pytest.fixture(autouse=True)
def _own_key_file(settings, tmp_path):
    """The probe key's plaintext file in this test's directory, not the checkout's var/."""
    settings.VAR_DIR = tmp_path


class BreakingProxy:
    """Forwards to the site; ``fail`` paths answer 500, ``drop`` removes headers per path."""

    def __init__(self, upstream: str, *, fail=(), drop=None) -> None:
        self.upstream, self.fail, self.drop = upstream, set(fail), dict(drop or {})
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _forward(self) -> None:
                path = self.path.split("?")[0]
                if path in proxy.fail:
                    body = b'{"error": {"message": "broken on purpose", "type": "server_error"}}'
                    self.send_response(500)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                length = int(self.headers.get("Content-Length") or 0)
                answer = httpx.request(
                    self.command,
                    proxy.upstream + self.path,
                    content=self.rfile.read(length) if length else None,
                    headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                    timeout=30,
                )
                dropped = {
                    h.lower() for p, hs in proxy.drop.items() if path.startswith(p) for h in hs
                }
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() not in HOP_BY_HOP | dropped:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_POST = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def proxy(site):
    opened: list[BreakingProxy] = []

    def open_proxy(**breaks) -> BreakingProxy:
        opened.append(BreakingProxy(site.base, **breaks))
        return opened[-1]

    yield open_proxy
    for each in opened:
        each.close()


pytestmark = [pytest.mark.e2e]


@pytest.mark.django_db(transaction=True)
def test_it_passes_the_smoke_and_the_headers_guard_on_a_working_site(site):
    smoke = probe.measure(SMOKE, _ctx(site.base))
    assert smoke.value == 1.0, smoke.detail
    ops = smoke.detail["operations"]
    assert [o["operation"] for o in ops] == list(probe.OPERATIONS)
    assert all(o["ok"] and o["status"] == 200 and o["latency_ms"] > 0 for o in ops)
    assert smoke.query.startswith("openai SDK ") and f"{site.base}/v1" in smoke.query

    guard = probe.measure(HEADERS, _ctx(site.base))
    assert guard.value == 1.0, guard.detail
    assert guard.detail["missing"] == {}
    statuses = {o["operation"]: o["status"] for o in guard.detail["operations"]}
    assert statuses["models.retrieve(404)"] == 404
    for answer in guard.detail["operations"]:
        assert set(probe.REQUIRED_HEADERS) <= set(answer["headers"])


@pytest.mark.django_db(transaction=True)
def test_it_fails_the_smoke_naming_the_broken_operation(proxy):
    broken = proxy(fail={"/v1/embeddings"})
    smoke = probe.measure(SMOKE, _ctx(broken.base))
    assert smoke.value == 0.0
    assert smoke.message == "failing: embeddings.create"
    failed = [o for o in smoke.detail["operations"] if not o["ok"]]
    assert [(o["operation"], o["status"]) for o in failed] == [("embeddings.create", 500)]
    assert "broken on purpose" in failed[0]["error"]


@pytest.mark.django_db(transaction=True)
def test_it_fails_the_guard_naming_the_missing_headers_per_answer(proxy):
    stripped = proxy(
        drop={
            "/v1/chat/completions": ["x-ratelimit-remaining-requests"],
            "/v1/models/": ["x-request-id"],  # the 404 of an unknown model
        }
    )
    guard = probe.measure(HEADERS, _ctx(stripped.base))
    assert guard.value == 0.0
    assert guard.detail["missing"] == {
        "chat.completions.create": ["x-ratelimit-remaining-requests"],
        "chat.completions.create(stream)": ["x-ratelimit-remaining-requests"],
        "models.retrieve(404)": ["x-request-id"],
    }
    assert "models.retrieve(404): x-request-id" in guard.message
    # The smoke does not look at headers: the same answers pass it.
    assert probe.measure(SMOKE, _ctx(stripped.base)).value == 1.0


@pytest.mark.parametrize("gate", [SMOKE, HEADERS], ids=["facade_smoke", "headers_guard"])
def test_it_raises_when_the_target_is_down(gate):
    with pytest.raises(SourceError, match="unreachable"):
        probe.measure(gate, _ctx(f"http://127.0.0.1:{free_port()}"))


@pytest.mark.django_db
def test_it_keeps_one_key_and_replaces_a_revoked_one(settings):
    first = probe.probe_api_key()
    assert probe.probe_api_key() == first
    key = APIKey.objects.get(tenant__slug="soak", name="soak-probe")
    assert sorted(key.scopes) == sorted(probe.PROBE_SCOPES)
    assert (settings.VAR_DIR / "soak-probe-key").stat().st_mode & 0o777 == 0o600

    guardian_services.api_key_revoke(key=key)
    second = probe.probe_api_key()
    assert second != first
    assert APIKey.objects.filter(tenant__slug="soak", revoked_at__isnull=True).count() == 1

    settings.SOAK_PROBE_API_KEY = "lk-given"
    assert probe.probe_api_key() == "lk-given"
