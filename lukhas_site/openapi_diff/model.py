"""What a diff reports: operations, changes, the rules that judge them, and errors."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
Direction = Literal["request", "response"]


class SpecError(ValueError):
    """The document is not an OpenAPI document we can read (bad JSON, dangling $ref)."""


@dataclass(frozen=True, slots=True)
class Rules:
    """The judgement calls, in one place (``docs/contract.md`` argues each).

    ``response_narrowing_is_breaking``: a response field whose type set
    shrinks (``string | null`` → ``string``) cannot crash a reader, but the
    issue that asked for this tool counts it as a contract change someone
    must approve, so it is breaking by default.

    ``response_enum_added_is_breaking``: a new value in a response enum
    breaks clients with closed enums (generated SDKs, exhaustive ``match``);
    OpenAI's own SDK tolerates it, ours cannot know every client, so it is
    breaking. A value removed from a response enum is never breaking.
    """

    response_narrowing_is_breaking: bool = True
    response_enum_added_is_breaking: bool = True


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # stable id, e.g. "response.property.removed"
    where: str  # "body: messages[].role", "response 200: data[].id", "query parameter limit"
    message: str
    breaking: bool


@dataclass(frozen=True, slots=True)
class Operation:
    method: str  # upper case
    path: str
    operation_id: str | None

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "path": self.path, "operation_id": self.operation_id}


@dataclass(slots=True)
class OperationDiff:
    base: Operation
    candidate: Operation
    changes: list[Change] = field(default_factory=list)

    @property
    def breaking(self) -> list[Change]:
        return [change for change in self.changes if change.breaking]


@dataclass(slots=True)
class SpecDiff:
    added: list[Operation] = field(default_factory=list)
    removed: list[Operation] = field(default_factory=list)
    changed: list[OperationDiff] = field(default_factory=list)

    @property
    def breaking_count(self) -> int:
        """Removed operations count as one breaking change each."""
        return len(self.removed) + sum(len(diff.breaking) for diff in self.changed)

    @property
    def is_breaking(self) -> bool:
        return self.breaking_count > 0

    @property
    def is_empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "breaking": self.is_breaking,
            "summary": {
                "added": len(self.added),
                "removed": len(self.removed),
                "changed": len(self.changed),
                "breaking_changes": self.breaking_count,
            },
            "added": [op.to_dict() for op in self.added],
            "removed": [{**op.to_dict(), "breaking": True} for op in self.removed],
            "changed": [
                {
                    **diff.candidate.to_dict(),
                    "base_operation_id": diff.base.operation_id,
                    "changes": [asdict(change) for change in diff.changes],
                }
                for diff in self.changed
            ],
        }

    def to_text(self) -> str:
        lines = [
            f"OpenAPI diff: {len(self.added)} added, {len(self.removed)} removed, "
            f"{len(self.changed)} changed operations; {self.breaking_count} breaking changes."
        ]

        def name(op: Operation) -> str:
            return f"{op.label} ({op.operation_id})" if op.operation_id else op.label

        if self.removed:
            lines += ["", "Removed operations:"]
            lines += [f"  - {name(op)}  BREAKING" for op in self.removed]
        if self.added:
            lines += ["", "Added operations:"]
            lines += [f"  + {name(op)}" for op in self.added]
        if self.changed:
            lines += ["", "Changed operations:"]
            for diff in self.changed:
                lines.append(f"  ~ {name(diff.candidate)}")
                for change in diff.changes:
                    flag = "BREAKING    " if change.breaking else "non-breaking"
                    lines.append(f"      {flag}  {change.where}: {change.message}")
        return "\n".join(lines) + "\n"
