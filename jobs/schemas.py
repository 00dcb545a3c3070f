"""Shapes of the jobs API: what /api/jobs returns and what its operations accept."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field


class ProgressOut(Schema):
    done: int
    total: int
    percent: int
    message: str


class FlowStepOut(Schema):
    name: str
    index: int
    role: str
    kind: str
    status: str
    attempts: int
    output: dict[str, Any]
    error: str
    claimed_by: str
    started_at: str | None
    finished_at: str | None
    deadline_at: str | None
    decision: str
    decided_by: str
    decided_at: str | None
    reason: str


class LogLineOut(Schema):
    at: str
    step: str
    line: str


class TargetOut(Schema):
    type: str
    id: str


class JobOut(Schema):
    id: int
    kind: str
    status: str
    terminal: bool
    progress: ProgressOut
    attempts: int
    max_attempts: int
    error: str
    result: dict[str, Any]
    params: dict[str, Any]
    target: TargetOut | None
    started_by: str
    claimed_by: str
    heartbeat_at: str | None
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    steps: list[FlowStepOut]
    waiting_for_decision: list[str]
    log: list[LogLineOut]
    url: str


class JobListOut(Schema):
    id: int
    kind: str
    status: str
    progress_done: int
    progress_total: int
    progress_message: str
    attempts: int
    error: str
    created_at: Any
    finished_at: Any


class JobFilter(Schema):
    kind: str = ""
    status: str = ""


class DecisionIn(Schema):
    step: str | None = Field(None, description="The approval step; default: the one waiting.")
    reason: str = Field("", max_length=2000, description="Required to reject.")


class CancelIn(Schema):
    reason: str = Field("", max_length=2000)


class FlowStageStepOut(Schema):
    name: str
    kind: str
    detail: str


class FlowStageOut(Schema):
    parallel: bool
    steps: list[FlowStageStepOut]


class FlowOut(Schema):
    name: str
    description: str
    stages: list[FlowStageOut]
    on_failure: str
    counts: dict[str, int]
