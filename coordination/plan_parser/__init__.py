"""Read the markdown plans a LUKHAS team writes into tasks the coordination app can import.

Pure Python on purpose (no Django import): the import service, the ``import_plan``
command and the tests all call it, and a coordinator can check a plan without a
database. What markdown it understands, how task keys are derived and which
mistakes stop an import are written for coordinators in ``docs/plan-format.md``;
keep the two in step.

The package is functions over one explicit parse state (``state.ParseState``, a
dataclass every step receives), in reading order: ``model`` (what a parse
returns), ``text`` (one string at a time: agent names, estimates, mojibake,
inline markdown, field labels), ``blocks`` (the markdown block and section tree),
``reader`` (the entry points and the order of steps), ``sections`` (headings and
lists), ``tables`` (task tables), ``fields`` (a task's own lines), ``tasks``
(keys, and merging a task defined twice) and ``resolve`` (the passes over the
finished list: owners, dependencies, critical reviews, statuses).
"""

from coordination.plan_parser.model import (
    PRIORITIES,
    RISKS,
    STATUSES,
    AcceptanceItem,
    GateItem,
    ParsedPlan,
    ParsedTask,
    PlanGate,
    PlanNote,
    PlanParseError,
    plan_to_dict,
)
from coordination.plan_parser.reader import parse_plan, parse_plan_bytes
from coordination.plan_parser.text import normalize_agent_name, parse_estimate, repair_mojibake

__all__ = [
    "PRIORITIES",
    "RISKS",
    "STATUSES",
    "AcceptanceItem",
    "GateItem",
    "ParsedPlan",
    "ParsedTask",
    "PlanGate",
    "PlanNote",
    "PlanParseError",
    "normalize_agent_name",
    "parse_estimate",
    "parse_plan",
    "parse_plan_bytes",
    "plan_to_dict",
    "repair_mojibake",
]
