"""An OpenAPI diff as the body of a pull-request comment (GitHub-flavoured markdown).

One table: added (heavy plus) operations, removed (heavy minus) operations (breaking), ⚠️ breaking
changes of changed operations; the non-breaking changes fold into a
``<details>``. The first line is a hidden marker so a workflow can find and
update its previous comment instead of adding one per push.
"""

from __future__ import annotations

from lukhas_site.openapi_diff.model import Operation, SpecDiff

MARKER = "<!-- lukhas-openapi-diff -->"
ADDED, REMOVED, BREAKING = "\u2795 added", "\u2796 removed", "\u26a0\ufe0f breaking"


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _op(op: Operation) -> str:
    label = f"`{op.method} {op.path}`"
    return f"{label} ({_cell(op.operation_id)})" if op.operation_id else label


def pr_comment(diff: SpecDiff, *, base: str, candidate: str) -> str:
    """The comment body for ``gh pr comment --body-file``."""
    verdict = (
        f"⚠️ **{diff.breaking_count} breaking change(s)**"
        if diff.is_breaking
        else "✅ no breaking change"
    )
    lines = [
        MARKER,
        f"### OpenAPI diff: {verdict}",
        "",
        f"{len(diff.added)} added, {len(diff.removed)} removed, {len(diff.changed)} changed "
        f"operations (`{_cell(base)}` → `{_cell(candidate)}`).",
    ]
    rows = [f"| {ADDED} | {_op(op)} | new operation |" for op in diff.added]
    rows += [f"| {REMOVED} | {_op(op)} | clients calling it break |" for op in diff.removed]
    for changed in diff.changed:
        rows += [
            f"| {BREAKING} | {_op(changed.candidate)} | {_cell(c.where)}: {_cell(c.message)} |"
            for c in changed.breaking
        ]
    if rows:
        lines += ["", "| | operation | change |", "|---|---|---|", *rows]
    minor = [
        f"- {_op(changed.candidate)}: {_cell(c.where)}: {_cell(c.message)}"
        for changed in diff.changed
        for c in changed.changes
        if not c.breaking
    ]
    if minor:
        lines += [
            "",
            f"<details><summary>{len(minor)} non-breaking change(s)</summary>",
            "",
            *minor,
            "",
            "</details>",
        ]
    if diff.is_empty:
        lines += ["", "No operation changed."]
    return "\n".join(lines) + "\n"
