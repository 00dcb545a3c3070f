"""The passes over a fully read plan: owners, dependencies, critical reviews, statuses.

Also the lookups the readers call while reading (dependency mentions, a reviewer
named like the coordinator).
"""

from __future__ import annotations

import re

from coordination.plan_parser.state import ParseState, infer
from coordination.plan_parser.text import (
    BOLD_KEY_START,
    BY_NAME,
    CODE_SPAN,
    DEPENDENCY,
    KEY_LIKE,
    KNOWN_AGENTS,
    TASK_MENTION,
    differs,
    normalize_agent_name,
    plain_text,
    refs_in,
)


def resolve_reviewer(state: ParseState, name: str) -> str:
    """'Claude' in a 'Claude Role' column is the coordinator 'Claude Code' when there is one."""
    if state.coordinator and name:
        mine, theirs = normalize_agent_name(name), normalize_agent_name(state.coordinator)
        if theirs == mine or theirs.startswith(mine + " "):
            return state.coordinator
    return name


def known_agents(state: ParseState) -> list[str]:
    names = list(KNOWN_AGENTS)
    if state.coordinator:
        names.append(state.coordinator)
    for task in state.tasks.values():
        names.extend(n for n in (task.owner, task.reviewer, *task.collaborators) if n)
    return sorted(set(names), key=lambda n: (-len(n), n))


def agent_in(state: ParseState, text: str) -> str:
    for name in state.agent_names:
        match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE)
        if match:
            return match.group(0)
    return ""


def assign_owners_from_headings(state: ParseState) -> None:
    """'Claude Code Execution Tasks' owns its tasks; the plan title never does."""
    unassigned: dict[str, list[str]] = {}
    for task in state.tasks.values():
        handed = state.owner_sources.get(task.key)
        if handed and task.owner == handed[0]:
            infer(
                state, task.source_line, f"task {task.key} owner {task.owner}: from the {handed[1]}"
            )
        if task.owner:
            continue
        for heading in state.chains.get(task.key, []):
            name = agent_in(state, heading)
            if name:
                task.owner = name
                infer(
                    state,
                    task.source_line,
                    f"task {task.key} owner {name}: named in heading {heading!r}",
                )
                break
        else:
            unassigned.setdefault(task.track, []).append(task.key)
    for track, keys in unassigned.items():
        first = min(state.tasks[k].source_line for k in keys)
        where = f"under {track!r}" if track else "outside any section"
        state.warnings.append(
            f"line {first}: no owner for {len(keys)} task(s) {where} "
            f"(no Owner column, Owner/Agents line or agent in a heading): {', '.join(keys)}"
        )


_CROSS_AFTER = re.compile(
    r"\b(?i:after|depends\s+on|blocked\s+by|needs|requires)\s+(?:(?i:task)\s+)?"
    r"(?P<ref>[A-Za-z][\w.-]*:(?:#\d+|[A-Za-z0-9][\w.-]*))"
)
_SECTION_AFTER = re.compile(
    r"\b(?i:after|depends\s+on|blocked\s+by)\s+(?P<name>(?i:batch|phase|track|step|stage|wave|"
    r"sprint|day|week)\s+[\w.-]+)"
)


def scan_dependencies(state: ParseState, key: str, text: str, line: int) -> None:
    prose = CODE_SPAN.sub(" ", text)
    for match in _SECTION_AFTER.finditer(prose):
        state.dep_refs.setdefault(key, []).append((SECTION_REF + match.group("name"), line, True))
    for match in _CROSS_AFTER.finditer(prose):
        state.dep_refs.setdefault(key, []).append((match.group("ref"), line, True))
    prose = _CROSS_AFTER.sub(" ", _SECTION_AFTER.sub(" ", prose))
    for match in DEPENDENCY.finditer(prose):
        explicit = bool(match.group("task"))
        for ref in refs_in(match.group("refs")):
            if explicit or KEY_LIKE.fullmatch(ref):
                state.dep_refs.setdefault(key, []).append((ref, line, explicit))


def add_refs(state: ParseState, key: str, text: str, line: int, *, explicit: bool) -> None:
    plain = CODE_SPAN.sub(r"\2", plain_text(text))
    for match in CROSS_PLAN.finditer(plain):
        state.dep_refs.setdefault(key, []).append((match.group(0), line, explicit))
    plain = CROSS_PLAN.sub(" ", plain)
    for ref in refs_in(plain):
        if ref.lower() not in ("task", "tasks", "and"):
            state.dep_refs.setdefault(key, []).append((ref, line, explicit))


def resolve_ref(state: ParseState, ref: str) -> str | None:
    if ref in state.tasks:
        return ref
    if ref.isdigit() and f"#{ref}" in state.tasks:
        return f"#{ref}"
    return state.keys_by_lowercase.get(ref.lower())


def resolve_dependencies(state: ParseState) -> None:
    for key, refs in state.dep_refs.items():
        task = state.tasks.get(key)
        if task is None:
            continue
        for ref, line, explicit in refs:
            if CROSS_PLAN.fullmatch(ref):  # "OTHER-PLAN:B2": resolved by the importer
                if ref not in task.depends_on:
                    task.depends_on.append(ref)
                continue
            if ref.startswith(SECTION_REF):
                targets = section_tasks(state, ref.removeprefix(SECTION_REF), key)
                if targets:
                    infer(
                        state,
                        line,
                        f"task {key} depends on every task of "
                        f"{ref.removeprefix(SECTION_REF)!r}: {', '.join(targets)}",
                    )
                    task.depends_on.extend(t for t in targets if t not in task.depends_on)
                    continue
                target = None
                ref = ref.removeprefix(SECTION_REF)
            else:
                target = resolve_ref(state, ref)
            if target is None:
                if explicit:
                    state.warnings.append(
                        f"line {line}: task {key} depends on {ref!r}, "
                        "which this plan does not define"
                    )
                    if ref not in task.unresolved_depends_on:
                        task.unresolved_depends_on.append(ref)
            elif target != key and target not in task.depends_on:
                task.depends_on.append(target)
    for key, refs in state.blocks_refs.items():
        for ref, line in refs:
            target = resolve_ref(state, ref)
            if target is None:
                state.warnings.append(
                    f"line {line}: task {key} blocks {ref!r}, which this plan does not define"
                )
                continue
            blocked = state.tasks[target]
            if target != key and key not in blocked.depends_on:
                blocked.depends_on.append(key)
                infer(state, line, f"task {target} depends on {key}: {key} says it blocks it")


SECTION_REF = "section:"
CROSS_PLAN = re.compile(r"[A-Za-z][\w.-]*:(?:#\d+|[A-Za-z0-9][\w.-]*)")


def section_tasks(state: ParseState, name: str, key: str) -> list[str]:
    """The tasks under the heading 'Batch 3' (for '(after Batch 3)'), never the task itself."""
    wanted = name.lower()
    found = []
    for other, chain in state.chains.items():
        if (
            other != key
            and other in state.tasks
            and any(
                plain_text(h).lower() == wanted or plain_text(h).lower().startswith(wanted + " ")
                for h in chain[:1]
            )
        ):
            found.append(other)
    return found


def mark_critical(state: ParseState, key: str, reviewer: str, line: int) -> None:
    task = state.tasks[key]
    task.requires_critical_review = True
    reviewer = resolve_reviewer(state, reviewer)
    if not task.reviewer:
        task.reviewer = reviewer
    elif reviewer and differs("reviewer", task.reviewer, reviewer):
        state.warnings.append(
            f"line {line}: task {key} is reviewed by {task.reviewer!r}; "
            f"ignoring critical reviewer {reviewer!r}"
        )


def mark_critical_reviews(state: ParseState) -> None:
    """Every way these plans ask for a critical review, besides the table column."""
    prefixes: list[tuple[str, str, int]] = []
    for text, line, chain in state.prose:
        plain = plain_text(text, keep_code=True)
        lowered = plain.lower()
        in_gate = bool(chain) and "critical review" in chain[0].lower()
        says = "critical review" in lowered
        if not (in_gate or says):
            continue
        reviewer = ""
        if says:  # "**CRITICAL REVIEW by Claude**"
            by = BY_NAME.search(plain, lowered.find("critical review"))
            reviewer = by.group("name") if by else ""
        if not reviewer and in_gate:
            reviewer = agent_in(state, chain[0]) or agent_in(state, plain)
        reviewer = reviewer or state.coordinator
        refs = [r for m in TASK_MENTION.finditer(text) for r in refs_in(m.group("refs"))]
        start = BOLD_KEY_START.match(text.strip())
        if start:
            refs.append(start.group("ref"))
        keys = [k for k in (resolve_ref(state, r) for r in refs) if k]
        for key in dict.fromkeys(keys):
            mark_critical(state, key, reviewer, line)
        if in_gate and not keys:
            for code in CODE_SPAN.finditer(text):
                if code.group(2).endswith("/"):
                    prefixes.append((code.group(2), reviewer, line))
    for task in list(state.tasks.values()):
        for prefix, reviewer, line in prefixes:
            owner_reviews = normalize_agent_name(task.owner) == normalize_agent_name(
                resolve_reviewer(state, reviewer)
            )
            if not owner_reviews and any(f.startswith(prefix) for f in task.files):
                mark_critical(state, task.key, reviewer, line)
        if "critical review" in task.title.lower():  # a review task gates what it follows
            for key in task.depends_on:
                mark_critical(state, key, task.owner or state.coordinator, task.source_line)


def settle_statuses(state: ParseState) -> None:
    for task in state.tasks.values():
        if task.status:
            continue
        states = state.checkbox_states.get(task.key, [])
        if states and all(states):
            task.status = "done"
        elif any(states):
            task.status = "in_progress"
        else:
            task.status = "todo"
