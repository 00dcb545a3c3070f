"""The passes over a fully read plan: owners, dependencies, critical reviews, statuses."""

from __future__ import annotations

import re

from coordination.plan_parser.model import ParsedTask
from coordination.plan_parser.text import (
    _BOLD_KEY_START,
    _BY_NAME,
    _CODE_SPAN,
    _DEPENDENCY,
    _KEY_LIKE,
    _KNOWN_AGENTS,
    _TASK_MENTION,
    _plain,
    _refs,
    normalize_agent_name,
)


class _PlanResolver:
    """The state a plan read builds, and the passes that finish it (see ``_PlanReader``)."""

    tasks: dict[str, ParsedTask]
    warnings: list[str]
    coordinator: str
    dep_refs: dict[str, list[tuple[str, int, bool]]]
    checkbox_states: dict[str, list[bool]]
    chains: dict[str, list[str]]
    prose: list[tuple[str, int, list[str]]]
    agent_names: list[str]
    keys_by_lowercase: dict[str, str]

    @staticmethod
    def _differs(name: str, mine: str, theirs: str) -> bool:
        if name in ("owner", "reviewer"):
            return normalize_agent_name(mine) != normalize_agent_name(theirs)
        if name in ("goal",):
            return _plain(mine).lower() != _plain(theirs).lower()
        return mine != theirs

    # ----------------------------------------------------------------- after reading

    def _resolve_reviewer(self, name: str) -> str:
        """'Claude' in a 'Claude Role' column is the coordinator 'Claude Code' when there is one."""
        if self.coordinator and name:
            mine, theirs = normalize_agent_name(name), normalize_agent_name(self.coordinator)
            if theirs == mine or theirs.startswith(mine + " "):
                return self.coordinator
        return name

    def _known_agents(self) -> list[str]:
        names = list(_KNOWN_AGENTS)
        if self.coordinator:
            names.append(self.coordinator)
        for task in self.tasks.values():
            names.extend(n for n in (task.owner, task.reviewer, *task.collaborators) if n)
        return sorted(set(names), key=lambda n: (-len(n), n))

    def _agent_in(self, text: str) -> str:
        for name in self.agent_names:
            match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE)
            if match:
                return match.group(0)
        return ""

    def _assign_owners_from_headings(self) -> None:
        """'Claude Code Execution Tasks' owns its tasks; the plan title never does."""
        unassigned: dict[str, list[str]] = {}
        for task in self.tasks.values():
            if task.owner:
                continue
            for heading in self.chains.get(task.key, []):
                name = self._agent_in(heading)
                if name:
                    task.owner = name
                    break
            else:
                unassigned.setdefault(task.track, []).append(task.key)
        for track, keys in unassigned.items():
            first = min(self.tasks[k].source_line for k in keys)
            where = f"under {track!r}" if track else "outside any section"
            self.warnings.append(
                f"line {first}: no owner for {len(keys)} task(s) {where} "
                f"(no Owner column, Owner/Agents line or agent in a heading): {', '.join(keys)}"
            )

    def _scan_dependencies(self, key: str, text: str, line: int) -> None:
        prose = _CODE_SPAN.sub(" ", text)
        for match in _DEPENDENCY.finditer(prose):
            explicit = bool(match.group("task"))
            for ref in _refs(match.group("refs")):
                if explicit or _KEY_LIKE.fullmatch(ref):
                    self.dep_refs.setdefault(key, []).append((ref, line, explicit))

    def _add_refs(self, key: str, text: str, line: int, *, explicit: bool) -> None:
        for ref in _refs(_CODE_SPAN.sub(r"\2", _plain(text))):
            if ref.lower() not in ("task", "tasks", "and"):
                self.dep_refs.setdefault(key, []).append((ref, line, explicit))

    def _resolve_ref(self, ref: str) -> str | None:
        if ref in self.tasks:
            return ref
        if ref.isdigit() and f"#{ref}" in self.tasks:
            return f"#{ref}"
        return self.keys_by_lowercase.get(ref.lower())

    def _resolve_dependencies(self) -> None:
        for key, refs in self.dep_refs.items():
            task = self.tasks.get(key)
            if task is None:
                continue
            for ref, line, explicit in refs:
                target = self._resolve_ref(ref)
                if target is None:
                    if explicit:
                        self.warnings.append(
                            f"line {line}: task {key} depends on {ref!r}, "
                            "which this plan does not define"
                        )
                elif target != key and target not in task.depends_on:
                    task.depends_on.append(target)

    def _mark_critical(self, key: str, reviewer: str, line: int) -> None:
        task = self.tasks[key]
        task.requires_critical_review = True
        reviewer = self._resolve_reviewer(reviewer)
        if not task.reviewer:
            task.reviewer = reviewer
        elif reviewer and self._differs("reviewer", task.reviewer, reviewer):
            self.warnings.append(
                f"line {line}: task {key} is reviewed by {task.reviewer!r}; "
                f"ignoring critical reviewer {reviewer!r}"
            )

    def _mark_critical_reviews(self) -> None:
        """Every way these plans ask for a critical review, besides the table column."""
        prefixes: list[tuple[str, str, int]] = []
        for text, line, chain in self.prose:
            plain = _plain(text, keep_code=True)
            lowered = plain.lower()
            in_gate = bool(chain) and "critical review" in chain[0].lower()
            says = "critical review" in lowered
            if not (in_gate or says):
                continue
            reviewer = ""
            if says:  # "**CRITICAL REVIEW by Claude**"
                by = _BY_NAME.search(plain, lowered.find("critical review"))
                reviewer = by.group("name") if by else ""
            if not reviewer and in_gate:
                reviewer = self._agent_in(chain[0]) or self._agent_in(plain)
            reviewer = reviewer or self.coordinator
            refs = [r for m in _TASK_MENTION.finditer(text) for r in _refs(m.group("refs"))]
            start = _BOLD_KEY_START.match(text.strip())
            if start:
                refs.append(start.group("ref"))
            keys = [k for k in (self._resolve_ref(r) for r in refs) if k]
            for key in dict.fromkeys(keys):
                self._mark_critical(key, reviewer, line)
            if in_gate and not keys:
                for code in _CODE_SPAN.finditer(text):
                    if code.group(2).endswith("/"):
                        prefixes.append((code.group(2), reviewer, line))
        for task in list(self.tasks.values()):
            for prefix, reviewer, line in prefixes:
                owner_reviews = normalize_agent_name(task.owner) == normalize_agent_name(
                    self._resolve_reviewer(reviewer)
                )
                if not owner_reviews and any(f.startswith(prefix) for f in task.files):
                    self._mark_critical(task.key, reviewer, line)
            if "critical review" in task.title.lower():  # a review task gates what it follows
                for key in task.depends_on:
                    self._mark_critical(key, task.owner or self.coordinator, task.source_line)

    def _settle_statuses(self) -> None:
        for task in self.tasks.values():
            if task.status:
                continue
            states = self.checkbox_states.get(task.key, [])
            if states and all(states):
                task.status = "done"
            elif any(states):
                task.status = "in_progress"
            else:
                task.status = "todo"
