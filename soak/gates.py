"""GA gates as code: the schema of ``configs/soak/ga_gates.yaml`` and its loader.

Pure (no Django import) so a release engineer can validate the file alone
and the evaluator can be tested without a database. The file's checksum is
stored with every evaluation, so a snapshot says which gates judged it.

A gate reads one **source**:

- ``metrics``: an SLI over the target's metrics — PromQL against
  ``LUKHAS_PROMETHEUS_URL`` when it is set, otherwise the embedded source
  computes the same SLI (named by ``sli``) from the sentinel's own scrapes;
- ``probe``: an HTTP probe of the target (``probe: facade_smoke`` or
  ``headers_guard``);
- ``health``: a number of the latest health report (``key``), optionally
  "not rising" over the last ``trend_reports`` reports;
- ``coordination``: a count of tasks matching ``tasks`` in ``statuses``;
- ``alerts``: alerts of ``alert_severity`` that fired during the run;
- ``soak``: the run's own figures (``hours_covered``).
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

Source = Literal["metrics", "probe", "health", "coordination", "alerts", "soak"]
Severity = Literal["critical", "major", "minor"]
NoData = Literal["inconclusive", "error"]

# "soak" = sustained over the whole run so far; otherwise a trailing window.
WINDOW = re.compile(r"^(soak|\d+[smhd])$")


class TaskFilter(BaseModel):
    """The release's own work items a gate is tied to (coordination tasks)."""

    model_config = ConfigDict(extra="forbid")

    keys: list[str] = Field(default_factory=list, description="Task keys, e.g. E402-1")
    track: str | None = Field(default=None, description="A track's name or slug")
    label: str | None = None
    text: str | None = Field(default=None, description="Words in the task title")
    plan_gates: str | None = Field(
        default=None,
        description="A plan's slug: measure its plan gates (lines not done) instead of tasks",
    )


class GateSpec(BaseModel):
    """One GA gate, as written in the YAML (see module docstring for sources)."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,63}$")]
    title: str
    source: Source
    comparator: Literal["<", "<=", ">", ">=", "==", "!="]
    threshold: float
    window: str = "soak"
    severity: Severity = "major"
    advisory: bool = False
    no_data: NoData = "inconclusive"
    max_consecutive_errors: Annotated[int, Field(ge=1)] = 4
    description: str = ""
    runbook: str = ""
    # metrics
    sli: str | None = None
    query: str | None = Field(default=None, description="PromQL; {window} is substituted")
    # probe
    probe: Literal["facade_smoke", "headers_guard"] | None = None
    # health
    key: str | None = Field(default=None, description="Dotted path into latest.json")
    trend_reports: Annotated[int, Field(ge=2)] | None = None
    # coordination
    tasks: TaskFilter | None = None
    statuses: list[str] = Field(default_factory=list)
    reopened_fails: bool = False
    # alerts
    alert_severity: str = "page"

    @field_validator("window")
    @classmethod
    def _window(cls, value: str) -> str:
        if not WINDOW.match(value):
            raise ValueError("use 'soak' (the whole run) or a duration like 30m, 1h, 24h")
        return value

    @model_validator(mode="after")
    def _source_needs(self) -> GateSpec:
        needs = {
            "metrics": ("sli", "query"),
            "probe": ("probe",),
            "health": ("key",),
            "coordination": ("tasks",),
        }.get(self.source, ())
        missing = [name for name in needs if getattr(self, name) in (None, "")]
        if missing:
            raise ValueError(f"a {self.source} gate needs {', '.join(missing)}")
        return self

    def compare(self, value: float) -> bool:
        """True when ``value`` meets the gate (``value <comparator> threshold``)."""
        return COMPARATORS[self.comparator](value, self.threshold)

    @property
    def blocking(self) -> bool:
        return not self.advisory

    def explain(self) -> str:
        return f"{self.comparator} {self.threshold:g}"


class GateFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    description: str = ""
    gates: list[GateSpec]

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: object) -> object:
        return str(value) if isinstance(value, int | float) else value

    @model_validator(mode="after")
    def _unique_ids(self) -> GateFile:
        seen: set[str] = set()
        for gate in self.gates:
            if gate.id in seen:
                raise ValueError(f"gate id {gate.id!r} appears twice")
            seen.add(gate.id)
        return self


@dataclass(frozen=True)
class GateSet:
    """The gates of one file with the checksum stored beside every evaluation."""

    version: str
    checksum: str
    gates: tuple[GateSpec, ...]
    path: str

    def get(self, gate_id: str) -> GateSpec | None:
        return next((gate for gate in self.gates if gate.id == gate_id), None)


class GateFileError(ValueError):
    """The gates file cannot be used; the message names the file, the gate and the key."""


def parse_gates(text: str, *, path: str = "ga_gates.yaml") -> GateSet:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise GateFileError(f"{path}{where}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise GateFileError(f"{path}: expected a mapping with 'version' and 'gates'")
    try:
        parsed = GateFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = list(error["loc"])
            if len(loc) >= 2 and loc[0] == "gates" and isinstance(loc[1], int):
                gates = raw.get("gates") or []
                gate = gates[loc[1]] if loc[1] < len(gates) else {}
                name = gate.get("id", f"#{loc[1] + 1}") if isinstance(gate, dict) else loc[1]
                loc = [f"gate {name}", *loc[2:]]
            problems.append(f"{'.'.join(str(p) for p in loc) or 'file'}: {error['msg']}")
        raise GateFileError(f"{path}: " + "; ".join(problems)) from exc
    checksum = hashlib.sha256(text.encode()).hexdigest()
    return GateSet(
        version=str(parsed.version), checksum=checksum, gates=tuple(parsed.gates), path=path
    )


def load_gates(path: str | Path) -> GateSet:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise GateFileError(f"{path}: cannot read the gates file ({exc.strerror})") from exc
    return parse_gates(text, path=str(path))
