"""Record which of our modules a request passes through, in order.

A profiler hook (``sys.setprofile`` and ``threading.setprofile``, so the
executor threads of ``sync_to_async`` count too) notes every call whose code
lives in one of our packages. A *hop* is a distinct caller-module →
callee-module pair: calling the same neighbour twice is one hop, which keeps
the count about where code lives rather than how often it loops.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "lukhas_site",
    "guardian",
    "matriz",
    "coordination",
    "jobs",
    "accounts",
    "soak",
    "audits",
)


def _module_of(filename: str) -> str | None:
    try:
        rel = Path(filename).resolve().relative_to(ROOT)
    except ValueError:
        return None
    if not rel.parts or rel.parts[0] not in PACKAGES or "migrations" in rel.parts:
        return None
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@dataclass
class Path_:
    modules: list[str] = field(default_factory=list)
    edges: set[tuple[str, str]] = field(default_factory=set)

    @property
    def hops(self) -> int:
        return len(self.edges)

    def as_json(self) -> dict:
        return {"hops": self.hops, "modules": self.modules, "edges": sorted(map(list, self.edges))}


@contextmanager
def trace() -> Iterator[Path_]:
    recorded = Path_()
    seen: set[str] = set()
    cache: dict[str, str | None] = {}
    lock = threading.Lock()

    def hook(frame, event, _arg):
        if event != "call":
            return
        filename = frame.f_code.co_filename
        module = cache.get(filename, "?")
        if module == "?":
            module = cache[filename] = _module_of(filename)
        if module is None:
            return
        caller = frame.f_back
        caller_module = None
        while caller is not None and caller_module is None:
            name = caller.f_code.co_filename
            caller_module = cache.get(name, "?")
            if caller_module == "?":
                caller_module = cache[name] = _module_of(name)
            caller = caller.f_back
        with lock:
            if module not in seen:
                seen.add(module)
                recorded.modules.append(module)
            if caller_module is not None and caller_module != module:
                recorded.edges.add((caller_module, module))

    threading.setprofile(hook)
    sys.setprofile(hook)
    try:
        yield recorded
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
