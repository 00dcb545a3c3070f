"""Demo data: a hook each app adds to, run once per hook by `make run`.

An app registers a loader in its ``AppConfig.ready``; ``load_demo_data``
runs each loader that has not run yet (recorded in DemoDataLoad), inside a
transaction, so a second `make run` changes nothing and a failed loader
leaves nothing half-written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

DemoLoader = Callable[[Callable[[str], None]], str]


@dataclass(frozen=True)
class DemoHook:
    name: str
    loader: DemoLoader
    description: str


_hooks: dict[str, DemoHook] = {}


def register_demo_loader(name: str, loader: DemoLoader, *, description: str = "") -> None:
    """``loader(report)`` loads its data and returns a one-line summary."""
    _hooks[name] = DemoHook(name=name, loader=loader, description=description)


def demo_hooks() -> list[DemoHook]:
    return list(_hooks.values())
