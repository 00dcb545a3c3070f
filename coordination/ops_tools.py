"""Coordination's tools for MATRIZ (``lukhas.tools``): tasks, blockers, reviews, workloads.

Each reads through the selectors, as the board does, and answers with the
facts a coordinator asks for (key, title, owner, status, priority, estimate,
what it waits for), naming every task it used as a source (``task:KEY``).
Unknown stays unknown: a task without an estimate says "no estimate".
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from coordination.models import OPEN_STATUSES, TaskStatus
from coordination.selectors import (
    LightTask,
    blocked_reasons,
    blockers,
    dependency_edges,
    graph_view,
    light_tasks,
)
from matriz.tooling import OpsTool, ToolContext, ToolResult, words

SCOPE = "ops:read"
MAX_LISTED = 10
_KEYISH = re.compile(r"#\d+|[A-Za-z][A-Za-z0-9]*(?:[-.][A-Za-z0-9]+)+|[A-Z]")
# Words that ask for a tool rather than name what to search for.
_ASKING = frozenset(
    [
        "task",
        "tasks",
        "owns",
        "own",
        "owner",
        "owners",
        "estimate",
        "estimated",
        "estimates",
        "priority",
        "status",
        "who",
        "assigned",
        "working",
        "work",
        "item",
        "items",
        "ticket",
        "tickets",
        "which",
    ]
)


def _label(task: LightTask) -> str:
    return f"{task.key} ({task.title})"


def hours(value: float) -> str:
    return f"{round(value, 2):g} h"


def _estimate(task: LightTask) -> str:
    low, high = task.estimate_min, task.estimate_max
    if low is None and high is None:
        return "no estimate"
    if low is None or high is None or low == high:
        return hours(low if high is None else high)
    return f"{round(low, 2):g}-{hours(high)}"


def _facts(task: LightTask) -> dict[str, Any]:
    return {
        "key": task.key,
        "title": task.title,
        "status": task.status,
        "owner": task.owner or None,
        "priority": task.priority or None,
        "track": task.track or None,
        "estimate_min_hours": task.estimate_min,
        "estimate_max_hours": task.estimate_max,
    }


def _line(task: LightTask) -> str:
    owner = task.owner or "unassigned"
    priority = task.priority or "unknown"
    status = (
        TaskStatus(task.status).label.lower() if task.status in TaskStatus.values else task.status
    )
    return f"{_label(task)}: {owner}, {status}, priority {priority}, {_estimate(task)}"


def _sources(tasks: list[LightTask]) -> list[str]:
    return [f"task:{task.key}" for task in tasks]


# --- search_tasks ------------------------------------------------------------------


def _search_arguments(question: str) -> dict[str, Any]:
    terms = [w for w in words(question) if w not in _ASKING]
    return {"query": " ".join(terms) or question.strip()}


def _matches(task: LightTask, terms: list[str]) -> int:
    haystack = set(words(f"{task.key} {task.title} {task.track} {task.owner}"))
    return sum(1 for term in terms if any(word.startswith(term) for word in haystack))


def _search(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    terms = words(str(arguments.get("query") or ""))
    status = arguments.get("status")
    ranked = []
    for task in light_tasks():
        if status and task.status != status:
            continue
        score = _matches(task, terms)
        if score:
            ranked.append((score, task))
    ranked.sort(key=lambda pair: -pair[0])
    best = [task for _, task in ranked[:MAX_LISTED]]
    if not best:
        return ToolResult({"tasks": []}, f"No task matches {arguments.get('query')!r}.")
    text = "\n".join(_line(task) for task in best)
    return ToolResult({"tasks": [_facts(t) for t in best]}, text, _sources(best))


SEARCH_TASKS = OpsTool(
    name="search_tasks",
    description="Find coordination tasks by words of their key, title, track or owner; "
    "answers each task's owner, status, priority and estimate.",
    parameters={
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "words to look for"},
            "status": {"type": "string", "enum": list(TaskStatus.values)},
        },
        "required": ["query"],
        "additionalProperties": False,
    },
    scope=SCOPE,
    triggers=(
        "who owns",
        "owner",
        "owns",
        "estimate",
        "which task",
        "task about",
        "tasks about",
        "find",
        "search",
        "priority of",
        "assigned",
        "works on",
        "working on",
        "who is doing",
    ),
    run=_search,
    arguments=_search_arguments,
)


# --- get_task ----------------------------------------------------------------------


def _keys_in(question: str) -> list[str]:
    """Task keys the question names, as they exist (single letters only after "task")."""
    known = {task.key for task in light_tasks()}
    by_lower = {key.lower(): key for key in known if len(key) > 1}
    found = []
    tokens = re.findall(r"[#\w.-]+", question)
    for position, token in enumerate(tokens):
        token = token.strip(".-")
        if len(token) == 1:
            before = tokens[position - 1].lower() if position else ""
            if token in known and before in {"task", "track"}:
                found.append(token)
            continue
        key = token if token in known else by_lower.get(token.lower())
        if key and key not in found:
            found.append(key)
    return found


def _get_arguments(question: str) -> dict[str, Any]:
    keys = _keys_in(question)
    return {"key": keys[0]} if keys else {}


def _get(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    key = str(arguments.get("key") or "")
    tasks = light_tasks()
    matching = [t for t in tasks if t.key == key] or [
        t for t in tasks if t.key.lower() == key.lower()
    ]
    if not matching:
        return ToolResult({"task": None}, f"There is no task {key!r}.")
    by_id = {t.id: t for t in tasks}
    edges = dependency_edges()
    reasons = blocked_reasons()
    lines, data = [], []
    for task in matching:
        needs = [by_id[b] for b, blocked in edges if blocked == task.id and b in by_id]
        waiting = [t for t in needs if t.status in OPEN_STATUSES]
        unblocks = [by_id[x] for b, x in edges if b == task.id and x in by_id]
        line = _line(task)
        if needs:
            line += ". Depends on " + ", ".join(_label(t) for t in needs)
            line += (
                f"; waiting for {', '.join(t.key for t in waiting)}" if waiting else "; all done"
            )
        if unblocks:
            line += ". Unblocks " + ", ".join(t.key for t in unblocks)
        if reasons.get(task.id):
            line += f". Blocked: {reasons[task.id]}"
        lines.append(line + ".")
        facts = _facts(task) | {
            "depends_on": [t.key for t in needs],
            "waiting_for": [t.key for t in waiting],
            "unblocks": [t.key for t in unblocks],
            "blocked_reason": reasons.get(task.id) or None,
        }
        data.append(facts)
    return ToolResult({"task": data[0], "matches": data}, "\n".join(lines), _sources(matching))


GET_TASK = OpsTool(
    name="get_task",
    description="One coordination task by its key (CC-1, #1, A): owner, status, priority, "
    "estimate, what it depends on and what it unblocks.",
    parameters={
        "type": "object",
        "properties": {
            "key": {"type": "string", "description": "the task key as the plan writes it"}
        },
        "required": ["key"],
        "additionalProperties": False,
    },
    scope=SCOPE,
    triggers=(),
    run=_get,
    arguments=_get_arguments,
    detect=lambda question: 3 if _keys_in(question) else 0,
)


# --- blockers and the critical path --------------------------------------------------


def _blockers(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    tasks = light_tasks()
    graph = graph_view(tasks, dependency_edges())
    found = blockers(graph, blocked_reasons())
    if not found:
        return ToolResult({"blockers": []}, "No task is blocked or waiting for another.")
    lines, data = [], []
    for item in found[:MAX_LISTED]:
        waits = ", ".join(_label(t) for t in item.waits_for)
        line = f"{_label(item.task)} ({item.task.owner or 'unassigned'})"
        line += f" waits for {waits}" if waits else " is blocked"
        if item.reason:
            line += f": {item.reason}"
        if item.holds_up:
            line += f"; it holds up {item.holds_up} open task(s)"
        lines.append(line)
        data.append(
            {
                "key": item.task.key,
                "title": item.task.title,
                "owner": item.task.owner or None,
                "status": item.task.status,
                "waits_for": [t.key for t in item.waits_for],
                "reason": item.reason or None,
                "holds_up": item.holds_up,
            }
        )
    head = f"{len(found)} task(s) are blocked or waiting:"
    holders = sorted(
        ((count, graph.tasks[pk]) for pk, count in graph.holds_up.items() if count),
        key=lambda pair: (-pair[0], pair[1].key),
    )[:3]
    if holders:
        held = "; ".join(f"{_label(task)} holds up {count}" for count, task in holders)
        lines.append(f"Holding up the most: {held}")
    payload = {"blockers": data, "holds_up": {task.key: count for count, task in holders}}
    return ToolResult(payload, "\n".join([head, *lines]), _sources([b.task for b in found]))


BLOCKERS = OpsTool(
    name="blockers",
    description="Blocked tasks and open tasks waiting for unfinished dependencies, with what "
    "they wait for and how much work each holds up.",
    parameters={"type": "object", "properties": {}, "additionalProperties": False},
    scope=SCOPE,
    triggers=(
        "blocked",
        "blocker",
        "blockers",
        "blocking",
        "waiting for",
        "waits for",
        "stuck",
        "holds up",
        "holding up",
    ),
    run=_blockers,
)


def _critical_path(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    graph = graph_view(light_tasks(), dependency_edges())
    path = graph.critical_path
    if not path:
        return ToolResult(
            {"critical_path": [], "hours": None},
            "There is no critical path: no open task waits for another.",
        )
    chain = " → ".join(_label(t) for t in path)
    unknown = sum(1 for t in path if t.estimate_min is None and t.estimate_max is None)
    spent = graph.critical_path_hours
    estimated = f"{hours(spent)} of estimates" if spent else "no estimates"
    note = f" ({unknown} of its {len(path)} tasks have no estimate)" if unknown else ""
    text = f"The critical path is {chain}: {estimated}{note}."
    data = {"critical_path": [t.key for t in path], "hours": graph.critical_path_hours or None}
    return ToolResult(data, text, _sources(path))


CRITICAL_PATH = OpsTool(
    name="critical_path",
    description="The longest chain of open tasks through their dependencies (by remaining "
    "estimate), which decides the earliest finish.",
    parameters={"type": "object", "properties": {}, "additionalProperties": False},
    scope=SCOPE,
    triggers=("critical path", "longest chain", "earliest finish", "finish first"),
    run=_critical_path,
)


# --- review queue and workloads ------------------------------------------------------


def _review(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    waiting = [t for t in light_tasks() if t.status == TaskStatus.IN_REVIEW]
    if not waiting:
        return ToolResult({"in_review": []}, "No task is waiting for review.")
    lines = [_line(t) + (" (needs critical review)" if t.critical else "") for t in waiting]
    text = f"{len(waiting)} task(s) wait for review:\n" + "\n".join(lines[:MAX_LISTED])
    return ToolResult({"in_review": [_facts(t) for t in waiting]}, text, _sources(waiting))


REVIEW_QUEUE = OpsTool(
    name="review_queue",
    description="Tasks waiting for review, flagging those that need a critical review.",
    parameters={"type": "object", "properties": {}, "additionalProperties": False},
    scope=SCOPE,
    triggers=(
        "review queue",
        "in review",
        "waiting for review",
        "to review",
        "need review",
        "needs review",
        "reviews",
    ),
    run=_review,
)


def _owners_in(question: str) -> list[str]:
    asked = set(words(question))
    owners = {t.owner for t in light_tasks() if t.owner}
    return sorted(o for o in owners if set(words(o)) and set(words(o)) <= asked)


def _workload_arguments(question: str) -> dict[str, Any]:
    owners = _owners_in(question)
    return {"owner": owners[0]} if owners else {}


def _workload(arguments: dict[str, Any], context: ToolContext) -> ToolResult:
    wanted = str(arguments.get("owner") or "").strip().lower()
    open_tasks = [t for t in light_tasks() if t.status in OPEN_STATUSES]
    if wanted:
        mine = [t for t in open_tasks if t.owner.lower() == wanted]
        if not mine:
            return ToolResult(
                {"owner": arguments.get("owner"), "open": 0},
                f"{arguments.get('owner')} has no open task.",
            )
        owner = mine[0].owner
        estimated = [t for t in mine if t.estimate_max is not None or t.estimate_min is not None]
        hours = sum(t.remaining_hours for t in estimated)
        hours_text = (
            f"{hours:g} h over {len(estimated)} estimated task(s)" if estimated else "no estimates"
        )
        text = f"{owner} has {len(mine)} open task(s) ({hours_text}):\n" + "\n".join(
            _line(t) for t in mine[:MAX_LISTED]
        )
        data = {"owner": owner, "open": len(mine), "tasks": [t.key for t in mine]}
        return ToolResult(data, text, _sources(mine))
    counts = Counter(t.owner or "unassigned" for t in open_tasks)
    lines = [f"{owner}: {count} open" for owner, count in counts.most_common()]
    return ToolResult({"open_by_owner": dict(counts)}, "Open tasks by owner:\n" + "\n".join(lines))


OWNER_WORKLOAD = OpsTool(
    name="owner_workload",
    description="Open tasks per owner, or one owner's open tasks with their estimates.",
    parameters={
        "type": "object",
        "properties": {"owner": {"type": "string", "description": "an agent or person's name"}},
        "additionalProperties": False,
    },
    scope=SCOPE,
    triggers=("workload", "busiest", "how much work", "open tasks"),
    run=_workload,
    arguments=_workload_arguments,
    detect=lambda question: 2 if _owners_in(question) else 0,
)
