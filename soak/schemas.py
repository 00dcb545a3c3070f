"""Shapes of the soak ops API (``/api/soak/``)."""

# No `from __future__ import annotations`: ninja reads these annotations at import time.

from datetime import datetime
from typing import Annotated, Any

from ninja import Field, FilterLookup, FilterSchema, Schema

from soak.models import Phase


class ReleaseOut(Schema):
    id: int
    name: str
    version: str
    git_ref: str
    status: str
    promoted_at: datetime | None
    git_tag: str
    created_at: datetime


class RunOut(Schema):
    id: int
    release: str = Field(..., alias="release.name")
    target_url: str
    planned_hours: int
    phase: str
    started_at: datetime | None
    ended_at: datetime | None
    hours_covered: float
    message: str
    gates_version: str
    gates_checksum: str
    started_by_label: str
    aborted_reason: str


class RunFilter(FilterSchema):
    release: Annotated[str | None, FilterLookup(q="release__name")] = Field(
        None, description="A release's name"
    )
    phase: Annotated[Phase | None, FilterLookup(q="phase")] = None


class GateOut(Schema):
    gate_id: str
    title: str
    source: str
    severity: str
    advisory: bool
    phase: str
    value: float | None = Field(..., description="null: no data (unknown, never a pass)")
    comparator: str
    threshold: float
    window: str
    message: str
    query: str
    successful: int
    failed: int
    inconclusive: int
    errors: int
    consecutive_errors: int
    tasks: list[Any]
    decided_at: datetime | None
    decision_reason: str


class SoakSnapshotOut(Schema):
    id: int
    taken_at: datetime
    complete: bool
    run_phase: str
    gates_checksum: str
    load_results: dict[str, Any] | None
    artifacts: list[dict[str, Any]]
    taken_by_label: str
    gates: list[GateOut] = Field(..., alias="gate_results.all")


class StartIn(Schema):
    release: str = Field(..., min_length=1, max_length=100, examples=["v0.9.0-rc"])
    planned_hours: int = Field(48, ge=1, le=720)
    target_url: str = Field("", max_length=500, description="Empty: this site itself")


class AbortIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)


class PromoteIn(Schema):
    approve_inconclusive: str = Field(
        "", max_length=2000, description="Why the inconclusive blocking gates may pass"
    )
    tag: bool = False
    dry_run: bool | None = Field(None, description="Default: LUKHAS_RELEASE_TAG_DRY_RUN")


class DecideIn(Schema):
    reason: str = Field(..., min_length=1, max_length=2000)
