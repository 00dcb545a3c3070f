"""The SLIs of the ``metrics`` gates, computed from stored /metrics scrapes.

Pure (no Django): the embedded source reads its MetricScrape rows and hands
their ``samples`` here. Each SLI is a ratio of two counter increases over the
window — what the gate's PromQL asks Prometheus (``sum(increase(a[w])) /
sum(increase(b[w]))``) — so both backends answer the same question.

Why our own arithmetic: ``prometheus_client`` parses the exposition text but
has no ``increase()``; the rules are Prometheus' own — a counter that goes
down was reset (a process restart) and its new value is all increase — and
the sum is over every label set (reasons, routes, the processes a
multiprocess ``/metrics`` already merged). One difference, on purpose: a
series that first appears inside the window counts from zero (prometheus_client
creates a labelled child at 0 on its first increment), where Prometheus'
``increase()`` misses that first value (docs/soak-sources.md, "Tolerance").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

# --- sample keys: "name{label="value",...}" as MetricScrape.samples stores them

_KEY = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?$")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def sample_key(name: str, labels: Mapping[str, str]) -> str:
    """The stored key of one sample: labels sorted, values escaped as in the text format."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


@lru_cache(maxsize=8192)
def parse_sample_key(key: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``sample_key`` read back (cached: the same keys repeat in every scrape)."""
    match = _KEY.match(key)
    if match is None:
        raise ValueError(f"not a sample key: {key!r}")
    labels = tuple(
        (name, re.sub(r"\\[\\\"n]", lambda m: _UNESCAPE[m.group(0)], value))
        for name, value in _LABEL.findall(match["labels"] or "")
    )
    return match["name"], labels


# --- selectors and SLIs ------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    """The samples of one counter (or bucket) that an SLI sums: exact labels, label prefixes."""

    sample: str
    equal: Mapping[str, str] = field(default_factory=dict)
    prefixes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def matches(self, key: str) -> bool:
        name, pairs = parse_sample_key(key)
        if name != self.sample:
            return False
        labels = dict(pairs)
        if any(labels.get(k) != v for k, v in self.equal.items()):
            return False
        return all(labels.get(k, "").startswith(p) for k, p in self.prefixes.items())


@dataclass(frozen=True)
class SLI:
    """A ratio of increases; ``promql`` is the same ratio for Prometheus (``{window}`` left in).

    A numerator that may never have happened (no denial, no 5xx) is ``or
    vector(0)``: its series does not exist until the first one, and an absent
    numerator must read 0, not "no data", while the denominator counts traffic.
    """

    name: str
    title: str
    numerator: Selector
    denominator: Selector
    promql: str


_DECISIONS = "lukhas_guardian_decisions_total"
_PDP = "lukhas_guardian_pdp_duration_seconds"
_HTTP = "lukhas_http_requests_total"
_HTTP_DURATION = "lukhas_http_request_duration_seconds"
# The route label is the URL pattern (lukhas_site.middleware.route_template).
_V1 = {"route": ("v1/",)}
_GUARDED = {"route": ("v1/", "api/")}

SLIS: dict[str, SLI] = {
    sli.name: sli
    for sli in (
        SLI(
            "guardian_denial_ratio",
            "Share of Guardian policy decisions that denied",
            Selector(_DECISIONS, {"decision": "deny"}),
            Selector(_DECISIONS),
            f'(sum(increase({_DECISIONS}{{decision="deny"}}[{{window}}])) or vector(0))'
            f" / sum(increase({_DECISIONS}[{{window}}]))",
        ),
        SLI(
            "pdp_fast_ratio",
            "Share of PDP decisions under 10 ms (p95 < 10 ms exactly when ≥ 0.95)",
            Selector(f"{_PDP}_bucket", {"le": "0.01"}),
            Selector(f"{_PDP}_count"),
            f'sum(increase({_PDP}_bucket{{le="0.01"}}[{{window}}]))'
            f" / sum(increase({_PDP}_count[{{window}}]))",
        ),
        SLI(
            "http_5xx_ratio",
            "Share of HTTP answers that were 5xx",
            Selector(_HTTP, {"status": "5xx"}),
            Selector(_HTTP),
            f'(sum(increase({_HTTP}{{status="5xx"}}[{{window}}])) or vector(0))'
            f" / sum(increase({_HTTP}[{{window}}]))",
        ),
        SLI(
            "v1_latency_fast_ratio",
            "Share of /v1 answers under 250 ms (first byte for streams)",
            Selector(f"{_HTTP_DURATION}_bucket", {"le": "0.25"}, _V1),
            Selector(f"{_HTTP_DURATION}_count", {}, _V1),
            f'sum(increase({_HTTP_DURATION}_bucket{{le="0.25",route=~"v1/.*"}}[{{window}}]))'
            f' / sum(increase({_HTTP_DURATION}_count{{route=~"v1/.*"}}[{{window}}]))',
        ),
        SLI(
            "ratelimit_throttled_ratio",
            "Share of /v1 and /api requests refused with 429 by a rate limit",
            Selector("lukhas_ratelimit_throttled_total"),
            Selector(_HTTP, {}, _GUARDED),
            "(sum(increase(lukhas_ratelimit_throttled_total[{window}])) or vector(0))"
            f' / sum(increase({_HTTP}{{route=~"v1/.*|api/.*"}}[{{window}}]))',
        ),
    )
}


def known_slis() -> str:
    return ", ".join(sorted(SLIS))


def wanted(key: str) -> bool:
    """Whether a scraped sample is one some SLI reads (the rest is not stored)."""
    return any(s.numerator.matches(key) or s.denominator.matches(key) for s in SLIS.values())


# --- the arithmetic -------------------------------------------------------------------


@dataclass(frozen=True)
class Increase:
    value: float
    resets: int


def increase(scrapes: Sequence[Mapping[str, float]], selector: Selector) -> Increase:
    """The summed increase of the selected series from the first scrape to the last.

    Per series: a drop is a reset (the new value is all increase, as
    Prometheus' ``increase()``); a series absent from the first scrape and
    present later started at zero in between. A series never vanishes from a
    live process (prometheus_client keeps its children; multiprocess files
    outlive their workers), so one that a scrape lacks went with a restart,
    and counts from zero again when it comes back.
    """
    total, resets = 0.0, 0
    last: dict[str, float] = {}
    for index, samples in enumerate(scrapes):
        seen: dict[str, float] = {}
        for key, value in samples.items():
            if not selector.matches(key) or math.isnan(value):
                continue
            previous = last.get(key)
            if previous is None:
                if index > 0:
                    total += value
            elif value >= previous:
                total += value - previous
            else:
                resets += 1
                total += value
            seen[key] = value
        last = seen
    return Increase(total, resets)


@dataclass(frozen=True)
class Reading:
    """An SLI over a window: value None when it cannot be computed (and why)."""

    value: float | None
    numerator: float
    denominator: float
    scrapes: int
    resets: int
    reason: str = ""


def compute(sli: SLI, scrapes: Sequence[Mapping[str, float]]) -> Reading:
    """The SLI from the OK scrapes of the window, oldest first."""
    if len(scrapes) < 2:
        return Reading(None, 0.0, 0.0, len(scrapes), 0, f"{len(scrapes)} scrape(s): need 2")
    numerator = increase(scrapes, sli.numerator)
    denominator = increase(scrapes, sli.denominator)
    resets = numerator.resets + denominator.resets
    if denominator.value <= 0:
        return Reading(None, numerator.value, 0.0, len(scrapes), resets, "no traffic counted")
    return Reading(
        numerator.value / denominator.value,
        numerator.value,
        denominator.value,
        len(scrapes),
        resets,
    )


def keep(families: Iterable) -> dict[str, float]:
    """The wanted samples of parsed metric families (``text_string_to_metric_families``)."""
    kept: dict[str, float] = {}
    for family in families:
        for sample in family.samples:
            key = sample_key(sample.name, sample.labels)
            if wanted(key):
                kept[key] = float(sample.value)
    return kept
