"""How a flow is declared: a named sequence of steps, parallel groups, waits and approvals.

    from jobs.flows import Approval, Flow, Parallel, Step, Wait, register

    register(Flow("promotion", steps=[
        Step("check-gates", check_gates, retries=2, backoff=5),
        Parallel(Step("pack-evidence", pack), Step("diff-openapi", diff)),
        Approval("release-manager", timeout=86_400),
        Step("tag", tag_release),
    ], on_failure=Step("rollback", rollback)))

A step's function takes a :class:`jobs.services.StepContext` and returns a
JSON-able dict (its output) or None. Every step becomes a Celery task named
``jobs.<flow>.<step>`` that takes the job id (``jobs.tasks``); its state is a
``FlowStep`` row, so the flow survives workers and brokers. Flows live in
each app's ``flows.py`` (autodiscovered like ``admin.py``) or in a module
named by ``LUKHAS_FLOW_MODULES``.

We wrote this small registry instead of adopting a workflow engine (Temporal,
Prefect, Airflow): those bring their own servers and state stores, and the
issue asks for Celery for execution and our database for state.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

from lukhas_site.errors import NotFound

NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")

StepFunction = Callable[[Any], Any]


def _check_name(what: str, name: str) -> None:
    if not NAME.match(name):
        raise ImproperlyConfigured(
            f"{what} name {name!r}: use lower-case letters, digits, '-' and '_' (max 63)"
        )


@dataclass(frozen=True)
class Step:
    """Work a worker does: retried ``retries`` times, waiting backoff·2ⁿ seconds (capped)."""

    name: str
    run: StepFunction
    retries: int = 0
    backoff: float = 1.0
    max_backoff: float = 300.0
    time_limit: int | None = None
    kind = "task"

    def __post_init__(self) -> None:
        _check_name("step", self.name)
        if self.retries < 0 or self.backoff < 0:
            raise ImproperlyConfigured(f"step {self.name}: retries and backoff must be >= 0")

    def backoff_for(self, attempt: int) -> float:
        """Seconds before attempt ``attempt + 1``, after ``attempt`` failures."""
        return min(self.max_backoff, self.backoff * (2 ** max(attempt - 1, 0)))


@dataclass(frozen=True)
class Wait:
    """A condition polled every ``poll`` seconds until true or ``timeout`` (then it fails).

    ``until(ctx)`` returns something truthy when the condition holds (a dict
    becomes the step's output).
    """

    name: str
    until: StepFunction
    poll: float = 5.0
    timeout: float = 3600.0
    kind = "wait"

    def __post_init__(self) -> None:
        _check_name("step", self.name)
        if self.poll <= 0 or self.timeout <= 0:
            raise ImproperlyConfigured(f"wait {self.name}: poll and timeout must be positive")


@dataclass(frozen=True)
class Approval:
    """A human decision (approve, or reject with a reason) within ``timeout`` seconds.

    The sweeper fails an approval nobody decided in time; a rejection or a
    timeout fails the flow (and runs its failure path).
    """

    name: str
    timeout: float = 86_400.0
    prompt: str = ""
    kind = "approval"

    def __post_init__(self) -> None:
        _check_name("step", self.name)
        if self.timeout <= 0:
            raise ImproperlyConfigured(f"approval {self.name}: timeout must be positive")


AnyStep = Step | Wait | Approval


@dataclass(frozen=True)
class Parallel:
    """Steps that run at the same time; the flow goes on when all of them succeeded."""

    steps: tuple[Step | Wait, ...]

    def __init__(self, *steps: Step | Wait) -> None:
        if len(steps) < 2:
            raise ImproperlyConfigured("Parallel() groups at least two steps")
        for step in steps:
            if isinstance(step, Approval):
                raise ImproperlyConfigured("an Approval cannot be part of a Parallel group")
        object.__setattr__(self, "steps", tuple(steps))


@dataclass
class Flow:
    """A declared flow: its stages in order and an optional compensating step."""

    name: str
    steps: list[AnyStep | Parallel]
    on_failure: Step | None = None
    description: str = ""
    max_attempts: int | None = None
    module: str = ""
    stages: list[tuple[AnyStep, ...]] = field(init=False)

    def __post_init__(self) -> None:
        _check_name("flow", self.name)
        if not self.steps:
            raise ImproperlyConfigured(f"flow {self.name} has no step")
        self.stages = [s.steps if isinstance(s, Parallel) else (s,) for s in self.steps]
        names = [step.name for stage in self.stages for step in stage]
        if self.on_failure is not None:
            names.append(self.on_failure.name)
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ImproperlyConfigured(f"flow {self.name}: step names repeat: {duplicates}")

    def step(self, name: str) -> AnyStep:
        for stage in self.stages:
            for step in stage:
                if step.name == name:
                    return step
        if self.on_failure is not None and self.on_failure.name == name:
            return self.on_failure
        raise NotFound(f"Flow {self.name} has no step {name!r}")

    def all_steps(self) -> Iterable[tuple[int, AnyStep]]:
        """(stage index, step) for every main step, in order."""
        for index, stage in enumerate(self.stages):
            for step in stage:
                yield index, step

    def task_name(self, step_name: str) -> str:
        """The stable Celery task name of a step: ``jobs.<flow>.<step>``."""
        return f"jobs.{self.name}.{step_name}"

    @property
    def total_steps(self) -> int:
        return sum(len(stage) for stage in self.stages)


_REGISTRY: dict[str, Flow] = {}
_listeners: list[Callable[[Flow], None]] = []


def register(flow_obj: Flow) -> Flow:
    """Add a flow to the registry (again from the same module replaces it: a reload)."""
    existing = _REGISTRY.get(flow_obj.name)
    if existing is not None and existing.module and existing.module != flow_obj.module:
        raise ImproperlyConfigured(
            f"flow {flow_obj.name} is declared twice ({existing.module} and {flow_obj.module})"
        )
    _REGISTRY[flow_obj.name] = flow_obj
    for listener in _listeners:
        listener(flow_obj)
    return flow_obj


def flow(name: str, **options: Any) -> Callable[[type], Flow]:
    """Class form: ``@flow("promotion") class Promotion: steps = [...]; on_failure = ...``."""

    def declare(cls: type) -> Flow:
        return register(
            Flow(
                name=name,
                steps=list(cls.steps),
                on_failure=getattr(cls, "on_failure", None),
                description=options.get("description") or (cls.__doc__ or "").strip(),
                max_attempts=options.get("max_attempts", getattr(cls, "max_attempts", None)),
                module=cls.__module__,
            )
        )

    return declare


def on_register(listener: Callable[[Flow], None]) -> None:
    """Call ``listener`` for every flow registered, now and later (jobs.tasks makes tasks)."""
    _listeners.append(listener)
    for flow_obj in list(_REGISTRY.values()):
        listener(flow_obj)


def get_flow(name: str) -> Flow:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise NotFound(
            f"No flow named {name!r} (declared: {', '.join(sorted(_REGISTRY)) or 'none'})",
            param="kind",
        ) from None


def all_flows() -> list[Flow]:
    return [_REGISTRY[name] for name in sorted(_REGISTRY)]


def load_flow_modules() -> None:
    """Import every app's ``flows`` module and those named by LUKHAS_FLOW_MODULES."""
    autodiscover_modules("flows")
    for module in settings.JOBS_FLOW_MODULES:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"LUKHAS_FLOW_MODULES: cannot import {module}: {exc}"
            ) from exc
