"""The one task filter: the board page and ``GET /api/coordination/tasks`` both use it.

A ninja ``FilterSchema`` (pydantic), so the API documents and validates it from
the query string, and the page builds it from ``request.GET`` with
``TaskFilter.from_querydict``; both then call ``.filter(queryset)``.
"""

from __future__ import annotations

from typing import Any, Literal

from django.db.models import Exists, OuterRef, Q
from django.http import QueryDict
from ninja import FilterSchema
from pydantic import Field, ValidationError, field_validator

from coordination.models import (
    OPEN_STATUSES,
    Agent,
    Priority,
    Risk,
    TaskDependency,
    TaskStatus,
)
from coordination.plan_parser import normalize_agent_name

UNASSIGNED = "none"
# Priority and risk are null where the plan did not say: this value asks for those.
UNKNOWN = "unknown"
# The database's integer: a longer number is no id (and was a 500 in SQL).
MAX_ID = 2**63 - 1


class TaskFilter(FilterSchema):
    q: str | None = Field(None, description="text in the key, title, branch or notes")
    status: list[TaskStatus] | None = Field(None, description="one or more statuses")
    owner: str | None = Field(
        None, description=f"an agent's name or alias ('@codex'); '{UNASSIGNED}' for unassigned"
    )
    track: str | None = Field(None, description="a track's name or id")
    priority: list[Priority | Literal["unknown"]] | None = Field(
        None, description=f"one or more priorities; '{UNKNOWN}' for tasks whose plan gave none"
    )
    risk: list[Risk | Literal["unknown"]] | None = Field(
        None, description=f"one or more risks; '{UNKNOWN}' for tasks whose plan gave none"
    )
    critical: bool | None = Field(None, description="only tasks that require critical review")
    blocked: bool | None = Field(
        None, description="blocked tasks and open tasks waiting for an unfinished dependency"
    )

    @field_validator("owner", "track")
    @classmethod
    def _bounded_id(cls, value: str | None) -> str | None:
        """An owner or track given as an id must fit the database's integer."""
        text = (value or "").strip()
        if text.isdigit() and int(text) > MAX_ID:
            raise ValueError(f"an id is at most {MAX_ID}")
        return value

    def filter_q(self, value: str | None) -> Q:
        if not value or not value.strip():
            return Q()
        text = value.strip()
        return (
            Q(key__iexact=text)
            | Q(title__icontains=text)
            | Q(branch__icontains=text)
            | Q(notes__icontains=text)
        )

    def filter_status(self, value: list[TaskStatus] | None) -> Q:
        return Q(status__in=[str(v) for v in value]) if value else Q()

    def filter_owner(self, value: str | None) -> Q:
        if not value or not value.strip():
            return Q()
        text = value.strip()
        if text.lower() in (UNASSIGNED, "unassigned"):
            return Q(owner__isnull=True)
        if text.isdigit():
            return Q(owner_id=int(text))
        # A subquery, not a join on aliases: one row per task whatever the alias count.
        agents = Agent.objects.filter(
            Q(name__iexact=text) | Q(aliases__normalized=normalize_agent_name(text))
        ).values("pk")
        return Q(owner__in=agents)

    def filter_track(self, value: str | None) -> Q:
        if not value or not value.strip():
            return Q()
        text = value.strip()
        if text.isdigit():
            return Q(track_id=int(text))
        return Q(track__name__iexact=text)

    def filter_priority(self, value: list[Priority | str] | None) -> Q:
        return _known_or_unknown("priority", value)

    def filter_risk(self, value: list[Risk | str] | None) -> Q:
        return _known_or_unknown("risk", value)

    def filter_critical(self, value: bool | None) -> Q:
        return Q() if value is None else Q(requires_critical_review=value)

    def filter_blocked(self, value: bool | None) -> Q:
        if value is None:
            return Q()
        waiting = Exists(
            TaskDependency.objects.filter(blocked=OuterRef("pk")).exclude(
                blocker__status=TaskStatus.DONE
            )
        )
        blocked = Q(status=TaskStatus.BLOCKED) | (Q(status__in=OPEN_STATUSES) & waiting)
        return blocked if value else ~blocked

    # ----------------------------------------------------------------- page helpers

    @staticmethod
    def choices_with_unknown(choices: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """A select's options: the known values, then the tasks with none (never guessed)."""
        return [*choices, (UNKNOWN, "unknown (not in the plan)")]

    @classmethod
    def from_querydict(cls, data: QueryDict) -> tuple[TaskFilter, list[str]]:
        """The filter a page's query string asks for, and what could not be read."""
        values: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            raw = [v for v in data.getlist(name) if v.strip()]
            if not raw:
                continue
            is_list = "list" in str(info.annotation)
            values[name] = raw if is_list else raw[-1]
        try:
            return cls(**values), []
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in err['loc'][:1])}: {err['msg']}" for err in exc.errors()
            ]
            bad = {str(err["loc"][0]) for err in exc.errors()}
            clean = {k: v for k, v in values.items() if k not in bad}
            return cls(**clean), problems

    def is_active(self) -> bool:
        return any(getattr(self, name) not in (None, [], "") for name in type(self).model_fields)

    def as_query(self) -> dict[str, Any]:
        """The filter as template-friendly values (first of each list)."""
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, list):
                out[name] = str(value[0]) if value else ""
            elif value is None:
                out[name] = ""
            else:
                out[name] = str(value).lower() if isinstance(value, bool) else str(value)
        return out


def _known_or_unknown(field: str, value: list[Any] | None) -> Q:
    """``field`` in the known values asked for, or null when ``unknown`` is asked for."""
    if not value:
        return Q()
    known = [str(v) for v in value if str(v) != UNKNOWN]
    query = Q(**{f"{field}__in": known}) if known else Q(pk__in=[])
    if UNKNOWN in (str(v) for v in value):
        query |= Q(**{f"{field}__isnull": True})
    return query
