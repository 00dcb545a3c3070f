"""Collectors that read the code without running it: ruff, compileall, the lane guard,
docs links and compat hits.

ruff, compileall and import-linter run as subprocesses. Docs links and compat
hits only read text files (markdown, source as text) in the worker, bounded by
the files the config names; they import nothing of the audited code, and no
library does either job (markdown link checkers are network crawlers; a grep
for retired names is a regular expression).
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from pathlib import Path

from markdown_it import MarkdownIt

from audits.collectors.base import (
    FAILED,
    OK,
    CollectorResult,
    FindingData,
    Workspace,
    dist_version,
    run_failure,
    run_tool,
)
from audits.config import LanesConfig

RUFF_METRICS = ("ruff.total", "ruff.production", "ruff.labs", "ruff.hot_paths")
COMPILEALL_METRICS = ("compileall.syntax_warnings", "compileall.warnings")
LANE_GUARD_METRICS = ("lane_guard.violations",)
DOCS_LINKS_METRICS = ("docs_links.broken", "docs_links.checked")
COMPAT_METRICS = ("compat.hits",)

_SKIP_DIRS = {".git", ".venv", "venv", "node_modules", "var", "__pycache__", ".ruff_cache"}


def ruleset_checksum(checkout: Path) -> str:
    """The codebase's ruff settings as JSON: a changed rule set makes counts not comparable."""
    sections: dict[str, object] = {}
    for name in ("pyproject.toml", "ruff.toml", ".ruff.toml"):
        path = checkout / name
        if not path.exists():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError):
            sections[name] = "(unreadable)"
            continue
        sections[name] = data.get("tool", {}).get("ruff") if name == "pyproject.toml" else data
    return json.dumps(sections, sort_keys=True, default=str)


def collect_ruff(workspace: Workspace) -> CollectorResult:
    """`ruff check --output-format json`: counts by rule, by lane and in the hot paths."""
    config = workspace.config.ruff
    result = CollectorResult("ruff", OK, tool="ruff", tool_version=dist_version("ruff"))
    ruff = workspace.tool("ruff")
    if ruff is None:
        return result.give_up("unavailable", "ruff is not installed", RUFF_METRICS)
    argv = [ruff, "check", "--output-format", "json", "--exit-zero", "--no-cache", *config.paths]
    run = result.record(run_tool(workspace, argv, timeout=config.timeout), workspace)
    if failure := run_failure(run, "ruff"):
        return result.give_up(*failure, RUFF_METRICS)
    try:
        violations = json.loads(run.stdout or "[]")
    except json.JSONDecodeError:
        return result.give_up(FAILED, f"ruff exited {run.exit_code}, output not JSON", RUFF_METRICS)
    by_rule: dict[str, int] = {}
    by_lane: dict[str, int] = {"production": 0, "labs": 0, "other": 0}
    hot = 0
    for item in violations:
        file = workspace.relative(item.get("filename", ""))
        if any(fnmatch.fnmatch(file, f"{e.rstrip('/')}*") for e in config.exclude):
            continue
        rule = item.get("code") or "syntax-error"
        lane = workspace.config.lane_of(file)
        by_rule[rule] = by_rule.get(rule, 0) + 1
        by_lane[lane or "other"] += 1
        is_hot = workspace.config.is_hot(file)
        hot += is_hot
        result.findings.append(
            FindingData(
                "ruff",
                rule,
                item.get("message", ""),
                file=file,
                line=(item.get("location") or {}).get("row"),
                severity="medium" if lane == "production" else "low",
                lane=lane,
                details={"hot_path": is_hot, "url": item.get("url") or ""},
            )
        )
    result.facts = {
        "total": sum(by_rule.values()),
        "by_rule": dict(sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))),
        "by_lane": by_lane,
        "hot_paths": hot,
        "hot_path_prefixes": workspace.config.hot_paths,
        "ruleset": ruleset_checksum(workspace.checkout),
    }
    result.metrics = {
        "ruff.total": result.facts["total"],
        "ruff.production": by_lane["production"],
        "ruff.labs": by_lane["labs"],
        "ruff.hot_paths": hot,
    }
    return result


# "path/to/file.py:12: SyntaxWarning: "is" with a literal. Did you mean "=="?"
_WARNING_LINE = re.compile(
    r"^(?P<file>[^\s:][^:]*):(?P<line>\d+): (?P<category>\w+Warning): (?P<message>.*)$"
)


def collect_compileall(workspace: Workspace) -> CollectorResult:
    """`python -W always -m compileall -f`: every compiler warning, with file and line."""
    config = workspace.config.compileall
    result = CollectorResult(
        "compileall", OK, tool="compileall", tool_version=workspace.python_version
    )
    if config is None:
        return result.give_up(
            FAILED, "no `compileall` section in the lanes config", COMPILEALL_METRICS
        )
    argv = [workspace.config.python or workspace.python, "-W", "always", "-m", "compileall"]
    argv += ["-q", "-f"]
    skip = sorted(_SKIP_DIRS) + [e.rstrip("/") for e in config.exclude]
    argv += ["-x", "|".join(re.escape(s) for s in skip), *config.paths]
    run = result.record(run_tool(workspace, argv, timeout=config.timeout), workspace)
    if failure := run_failure(run, "compileall"):
        return result.give_up(*failure, COMPILEALL_METRICS)
    by_category: dict[str, int] = {}
    errors = 0
    for line in (run.stderr + run.stdout).splitlines():
        match = _WARNING_LINE.match(line.strip())
        if match is None:
            errors += line.startswith("***")
            continue
        category = match["category"]
        by_category[category] = by_category.get(category, 0) + 1
        file = workspace.relative(match["file"])
        result.findings.append(
            FindingData(
                "compileall",
                category,
                match["message"],
                file=file,
                line=int(match["line"]),
                severity="medium" if category == "SyntaxWarning" else "low",
                lane=workspace.config.lane_of(file),
            )
        )
    result.facts = {"by_category": by_category, "compile_errors": errors}
    result.metrics = {
        "compileall.syntax_warnings": by_category.get("SyntaxWarning", 0),
        "compileall.warnings": sum(by_category.values()),
    }
    return result


def importlinter_config(config: LanesConfig) -> str:
    """The import-linter contract of the lanes: no production package imports a labs one."""
    lanes = config.lanes
    roots = json.dumps(lanes.production + lanes.labs)
    return (
        "# Generated from the lanes config by audits.collectors.static; do not edit.\n"
        "[tool.importlinter]\n"
        f"root_packages = {roots}\n"
        "include_external_packages = false\n\n"
        "[[tool.importlinter.contracts]]\n"
        'id = "production-never-imports-labs"\n'
        'name = "Production lanes never import labs lanes"\n'
        'type = "forbidden"\n'
        f"source_modules = {json.dumps(lanes.production)}\n"
        f"forbidden_modules = {json.dumps(lanes.labs)}\n"
    )


_CHAIN_HEAD = re.compile(r"^(?P<source>\S+) is not allowed to import (?P<target>\S+):$")
_CHAIN_LINK = re.compile(r"^(?P<start>-)?\s+(?P<a>\S+) -> (?P<b>\S+) \(l\.(?P<lines>[^)]*)\)$")


def parse_lint_imports(text: str) -> list[dict]:
    """The broken chains of import-linter's text report: [{source, target, chain: [...]}]."""
    chains: list[dict] = []
    source = target = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if head := _CHAIN_HEAD.match(line):
            source, target = head["source"], head["target"]
            continue
        link = _CHAIN_LINK.match(line)
        if link is None or not source:
            continue
        step = {"importer": link["a"], "imported": link["b"], "lines": link["lines"]}
        if link["start"] or not chains:
            chains.append({"source": source, "target": target, "chain": [step]})
        else:
            chains[-1]["chain"].append(step)
    return chains


def collect_lane_guard(workspace: Workspace) -> CollectorResult:
    """import-linter with a contract generated from the lanes; each broken chain is a violation."""
    lanes = workspace.config.lanes
    result = CollectorResult(
        "lane_guard", OK, tool="import-linter", tool_version=dist_version("import-linter")
    )
    if not lanes.labs:
        result.facts = {"violations": 0, "chains": [], "note": "no labs lane: nothing to forbid"}
        result.metrics = {"lane_guard.violations": 0}
        return result
    lint_imports = workspace.tool("lint-imports")
    if lint_imports is None:
        return result.give_up("unavailable", "import-linter is not installed", LANE_GUARD_METRICS)
    contract = workspace.workdir / "lanes.importlinter.toml"
    contract.parent.mkdir(parents=True, exist_ok=True)
    contract.write_text(importlinter_config(workspace.config))
    env = workspace.env() | {"PYTHONPATH": str(workspace.checkout)}
    argv = [lint_imports, "--no-cache", str(contract)]
    run = result.record(run_tool(workspace, argv, timeout=300, env=env), workspace)
    if failure := run_failure(run, "import-linter"):
        return result.give_up(*failure, LANE_GUARD_METRICS)
    if run.exit_code not in (0, 1) or "Contracts" not in run.stdout:
        return result.give_up(FAILED, f"lint-imports exited {run.exit_code}", LANE_GUARD_METRICS)
    chains = parse_lint_imports(run.stdout)
    for chain in chains:
        first = chain["chain"][0]
        module_file = first["importer"].replace(".", "/") + ".py"
        line = first["lines"].split(",")[0].strip()
        result.findings.append(
            FindingData(
                "lane_guard",
                f"{chain['source']} -> {chain['target']}",
                " -> ".join([first["importer"]] + [s["imported"] for s in chain["chain"]]),
                file=module_file,
                line=int(line) if line.isdigit() else None,
                severity="high",
                lane="production",
                details={"chain": chain["chain"]},
            )
        )
    result.facts = {"violations": len(chains), "chains": chains}
    result.metrics = {"lane_guard.violations": len(chains)}
    return result


def _walk(checkout: Path, roots: list[str], patterns: list[str], exclude: list[str]) -> list[Path]:
    """Files under the roots matching the patterns, minus excluded paths and tool caches."""
    found: list[Path] = []
    excluded = [e.rstrip("/") for e in exclude]
    for root in roots:
        base = (checkout / root).resolve()
        candidates = [base] if base.is_file() else sorted(base.rglob("*")) if base.is_dir() else []
        for path in candidates:
            rel = path.relative_to(checkout).as_posix() if path.is_relative_to(checkout) else ""
            if not path.is_file() or set(Path(rel).parts) & _SKIP_DIRS:
                continue
            if any(rel == e or rel.startswith(e + "/") for e in excluded):
                continue
            if any(fnmatch.fnmatch(path.name, p) or fnmatch.fnmatch(rel, p) for p in patterns):
                found.append(path)
    return sorted(set(found))


def _links(tokens: list, lines: list[str]) -> list[tuple[str, int | None]]:
    """(href, line) of every link and image; the line is the block's line holding the href."""
    links: list[tuple[str, int | None]] = []
    for token in tokens:
        for child in token.children or []:
            href = child.attrs.get("href" if child.type == "link_open" else "src", "")
            if child.type not in {"link_open", "image"}:
                continue
            line = None
            if token.map:
                start, end = token.map
                line = next((i + 1 for i in range(start, end) if str(href) in lines[i]), start + 1)
            links.append((str(href), line))
    return links


def collect_docs_links(workspace: Workspace) -> CollectorResult:
    """Every relative link (and image) in the markdown files resolves to a file or folder."""
    config = workspace.config.docs_links
    result = CollectorResult(
        "docs_links", OK, tool="markdown-it-py", tool_version=dist_version("markdown-it-py")
    )
    parser = MarkdownIt("commonmark")
    files = _walk(workspace.checkout, config.paths, ["*.md"], config.exclude)
    checked = 0
    for path in files:
        rel = workspace.relative(path)
        text = path.read_text(encoding="utf-8", errors="replace")
        for href, line in _links(parser.parse(text), text.splitlines()):
            if not href or href.startswith("#") or re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", href):
                continue  # an anchor in the same page, or a URL (http:, mailto:)
            checked += 1
            target_part = href.split("#", 1)[0].split("?", 1)[0]
            target = (path.parent / target_part).resolve() if target_part else path
            if not target.exists():
                result.findings.append(
                    FindingData(
                        "docs_links",
                        "broken-link",
                        f"{href} does not resolve",
                        file=rel,
                        line=line,
                        severity="low",
                        details={"href": href},
                    )
                )
    result.commands = [f"(in-process) markdown links of {len(files)} files under {config.paths}"]
    result.facts = {"files": len(files), "checked": checked, "broken": len(result.findings)}
    result.metrics = {"docs_links.broken": len(result.findings), "docs_links.checked": checked}
    return result


def collect_compat(workspace: Workspace) -> CollectorResult:
    """Hits of the configured legacy names and import paths (regular expressions)."""
    config = workspace.config.compat
    result = CollectorResult("compat", OK, tool="re", tool_version=workspace.python_version)
    try:
        patterns = [(p.name, re.compile(p.pattern)) for p in config.patterns]
    except re.error as exc:
        return result.give_up("error", f"compat pattern: {exc}", COMPAT_METRICS)
    files = _walk(workspace.checkout, ["."], config.globs, config.exclude) if patterns else []
    by_name: dict[str, int] = {name: 0 for name, _ in patterns}
    for path in files:
        rel = workspace.relative(path)
        text = path.read_text(encoding="utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            for name, pattern in patterns:
                if pattern.search(line):
                    by_name[name] += 1
                    result.findings.append(
                        FindingData(
                            "compat",
                            name,
                            line.strip()[:300],
                            file=rel,
                            line=number,
                            severity="low",
                            lane=workspace.config.lane_of(rel),
                        )
                    )
    result.commands = [f"(in-process) {len(patterns)} patterns over {len(files)} files"]
    result.facts = {"hits": len(result.findings), "by_pattern": by_name, "files": len(files)}
    result.metrics = {"compat.hits": len(result.findings)}
    return result
