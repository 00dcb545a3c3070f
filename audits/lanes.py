"""Lanes of a codebase: the import-linter contracts that guard them, their docs page and
the promotion criteria of each production module.

Pure Python, no Django (the ``pure`` import contract checks), so ``make
lane-guard-prod`` and the docs generator never import the audited code:
sources are read as text and imports are found by grimp (import-linter's
graph builder, which parses files and executes nothing).

We wrote the promotion evaluation ourselves: no tool knows this team's
criteria (coverage ≥ 90 %, spans and metrics present, p95 within budget, no
cross-lane import, a rollback flag). Each criterion is ``pass``, ``fail`` or
``unknown``; a criterion without data stays unknown and a module with an
unknown criterion is not promotable.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grimp

from audits.config import ConfigError
from audits.config import load_lanes as load_lanes_config

COVERAGE_TARGET = 90.0
PASS, FAIL, UNKNOWN = "pass", "fail", "unknown"

_SPAN = re.compile(r"\bstart_as_current_span\b|\bstart_span\b|\bget_tracer\(")
_METRIC = re.compile(
    r"\b(?:Counter|Histogram|Gauge|Summary|Info|Enum)\(|^\s*from prometheus_client"
)


class LanesError(ValueError):
    """A lanes config that cannot be used; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Lanes:
    """What this module needs of ``configs/audits/<name>.yaml`` (audits.config has the rest)."""

    name: str
    path: Path  # the checkout, resolved
    production: tuple[str, ...]
    labs: tuple[str, ...]
    hot_paths: tuple[str, ...] = ()
    config_file: str = ""

    @property
    def packages(self) -> tuple[str, ...]:
        return self.production + self.labs


def load_lanes(config_file: Path, base_dir: Path) -> Lanes:
    """The lanes of ``config_file`` (checked by ``audits.config``); its path is from base_dir."""
    try:
        config = load_lanes_config(config_file)
    except ConfigError as exc:
        raise LanesError(str(exc)) from None
    path = Path(config.path)
    return Lanes(
        name=config.name,
        path=(path if path.is_absolute() else base_dir / path).resolve(),
        production=tuple(config.lanes.production),
        labs=tuple(config.lanes.labs),
        hot_paths=tuple(config.hot_paths),
        config_file=_shown(Path(config_file), base_dir),
    )


def _shown(config_file: Path, base_dir: Path) -> str:
    """The config's path relative to base_dir when inside it: generated files name no clone."""
    try:
        return str(config_file.resolve().relative_to(base_dir.resolve()))
    except ValueError:
        return str(config_file)


# --------------------------------------------------------------------------- the guard


def importlinter_config(lanes: Lanes) -> str:
    """An ``.importlinter`` (INI) with the contracts of the production lanes.

    One ``forbidden`` contract: no production package imports a labs package,
    directly or through another module. With no labs package yet the contract
    names ``labs`` itself, so the day a ``labs/`` appears it is guarded already.
    """
    labs = lanes.labs or ("labs",)
    roots = [name.split(".")[0] for name in (*lanes.production, *lanes.labs)]
    roots = list(dict.fromkeys(roots))
    lines = [
        f"# Generated from {lanes.config_file or lanes.name} by audits.lanes; do not edit.",
        "[importlinter]",
        "root_packages =",
        *(f"    {root}" for root in roots),
        "include_external_packages = True",
        "",
        "[importlinter:contract:production-lanes-no-labs]",
        "name = Production lanes never import the labs lane",
        "type = forbidden",
        "source_modules =",
        *(f"    {name}" for name in lanes.production),
        "forbidden_modules =",
        *(f"    {name}" for name in labs),
        "",
    ]
    return "\n".join(lines)


@contextmanager
def _on_path(path: Path) -> Iterator[None]:
    sys.path.insert(0, str(path))
    try:
        yield
    finally:
        sys.path.remove(str(path))


def cross_lane_imports(lanes: Lanes) -> dict[str, list[tuple[str, str]]] | None:
    """Per production package, its direct imports of labs modules (importer, imported).

    ``None`` when the graph cannot be built (a package is missing from the checkout).
    """
    if not lanes.labs:
        return {package: [] for package in lanes.production}

    roots = list(dict.fromkeys(name.split(".")[0] for name in lanes.packages))
    try:
        with _on_path(lanes.path):
            graph = grimp.build_graph(*roots, include_external_packages=True, cache_dir=None)
    except (ValueError, ImportError, grimp.exceptions.SourceSyntaxError):
        return None
    labs = [m for m in graph.modules if any(_within(m, lab) for lab in lanes.labs)]
    found: dict[str, list[tuple[str, str]]] = {package: [] for package in lanes.production}
    for package in lanes.production:
        for module in sorted(m for m in graph.modules if _within(m, package)):
            for imported in sorted(graph.find_modules_directly_imported_by(module)):
                if imported in labs or any(_within(imported, lab) for lab in lanes.labs):
                    found[package].append((module, imported))
    return found


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


# --------------------------------------------------------------------------- promotion


@dataclass(frozen=True, slots=True)
class Criterion:
    name: str
    status: str  # pass / fail / unknown
    detail: str


@dataclass(slots=True)
class ModulePromotion:
    """The promotion criteria of one production module."""

    module: str
    criteria: list[Criterion] = field(default_factory=list)

    @property
    def status(self) -> str:
        """``pass`` when every criterion passes; ``fail`` when one fails; else unknown."""
        statuses = {c.status for c in self.criteria}
        if FAIL in statuses:
            return FAIL
        return UNKNOWN if UNKNOWN in statuses or not statuses else PASS


def _sources(lanes: Lanes, package: str) -> list[Path]:
    root = lanes.path / Path(*package.split("."))
    if root.is_dir():
        return sorted(p for p in root.rglob("*.py") if ".venv" not in p.parts)
    single = root.with_suffix(".py")
    return [single] if single.is_file() else []


def _grep(files: Iterable[Path], pattern: re.Pattern[str]) -> str:
    for file in files:
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if pattern.search(text):
            return file.name
    return ""


def promotion_evaluate(
    lanes: Lanes,
    *,
    coverage_by_module: Mapping[str, float | None] | None = None,
    p95_ms: Mapping[str, float | None] | None = None,
    p95_budget_ms: Mapping[str, float] | None = None,
    cross_lane: Mapping[str, list[tuple[str, str]]] | None = None,
    settings_text: str | None = None,
) -> list[ModulePromotion]:
    """The criteria of every production module; every input may be missing (→ unknown).

    ``coverage_by_module`` comes from the latest health report's coverage facts,
    ``p95_ms`` and ``p95_budget_ms`` from whoever measures latency (none yet),
    ``cross_lane`` from :func:`cross_lane_imports`, ``settings_text`` is the
    documentation of the settings (README) where a rollback flag
    ``LUKHAS_<MODULE>_ENABLED`` (or ``_ROLLBACK``) must be listed.
    """
    results = []
    for module in lanes.production:
        files = _sources(lanes, module)
        criteria: list[Criterion] = []
        coverage = (coverage_by_module or {}).get(module)
        if coverage is None:
            criteria.append(Criterion("coverage", UNKNOWN, "no per-module coverage measured"))
        else:
            ok = coverage >= COVERAGE_TARGET
            criteria.append(
                Criterion(
                    "coverage",
                    PASS if ok else FAIL,
                    f"{coverage:.1f} % (target ≥ {COVERAGE_TARGET:g} %)",
                )
            )
        if not files:
            criteria.append(Criterion("spans", UNKNOWN, "no source found in the checkout"))
            criteria.append(Criterion("metrics", UNKNOWN, "no source found in the checkout"))
        else:
            span_file = _grep(files, _SPAN)
            metric_file = _grep(files, _METRIC)
            criteria.append(
                Criterion("spans", PASS, f"spans in {span_file}")
                if span_file
                else Criterion("spans", FAIL, "no tracer span in the module")
            )
            criteria.append(
                Criterion("metrics", PASS, f"metrics in {metric_file}")
                if metric_file
                else Criterion("metrics", FAIL, "no Prometheus metric in the module")
            )
        measured, budget = (p95_ms or {}).get(module), (p95_budget_ms or {}).get(module)
        if measured is None or budget is None:
            missing = "no p95 measured" if measured is None else "no p95 budget"
            criteria.append(Criterion("p95", UNKNOWN, missing))
        else:
            criteria.append(
                Criterion(
                    "p95",
                    PASS if measured <= budget else FAIL,
                    f"{measured:g} ms (budget {budget:g} ms)",
                )
            )
        imports = None if cross_lane is None else cross_lane.get(module)
        if imports is None:
            criteria.append(Criterion("cross-lane imports", UNKNOWN, "import graph not built"))
        elif imports:
            first = f"{imports[0][0]} → {imports[0][1]}"
            criteria.append(
                Criterion("cross-lane imports", FAIL, f"{len(imports)} (first: {first})")
            )
        else:
            criteria.append(Criterion("cross-lane imports", PASS, "none"))
        if settings_text is None:
            criteria.append(Criterion("rollback flag", UNKNOWN, "settings not documented"))
        else:
            flag = re.search(
                rf"\bLUKHAS_{re.escape(module.upper().replace('.', '_'))}_"
                r"(?:ENABLED|ROLLBACK|DISABLED)\b",
                settings_text,
            )
            criteria.append(
                Criterion("rollback flag", PASS, flag.group(0))
                if flag
                else Criterion(
                    "rollback flag", FAIL, f"no LUKHAS_{module.upper()}_ENABLED documented"
                )
            )
        results.append(ModulePromotion(module, criteria))
    return results


# --------------------------------------------------------------------------- the page


_ICON = {PASS: "✅ pass", FAIL: "❌ fail", UNKNOWN: "❔ unknown"}


def lanes_readme(
    lanes: Lanes, promotions: list[ModulePromotion], *, generated_from: str = ""
) -> str:
    """``docs/README_LANES.md``: the lanes, what is gated, the boundaries, promotion."""
    labs = ", ".join(f"`{name}/`" for name in lanes.labs) or "none yet (`labs/` when it appears)"
    lines = [
        f"# Lanes of {lanes.name}",
        "",
        f"<!-- Generated by `manage.py lanes --readme` from {generated_from or lanes.config_file}"
        "; do not edit by hand. -->",
        "",
        "| lane | packages | checks |",
        "|---|---|---|",
        "| production | "
        + ", ".join(f"`{name}`" for name in lanes.production)
        + " | fully gated: ruff, coverage, lane guard, the quality gate |",
        f"| labs (development) | {labs} | excluded from the strict checks; "
        "counted apart in the report |",
        "",
        "## Import boundaries",
        "",
        "A production package never imports a labs package, directly or through another "
        "module. `make lane-guard-prod` checks it with import-linter; the contract is "
        "generated from the lanes config:",
        "",
        "```ini",
        importlinter_config(lanes).rstrip(),
        "```",
        "",
        "Labs code may import production code. Hot paths "
        + (", ".join(f"`{p}`" for p in lanes.hot_paths) or "(none)")
        + " are counted on their own in the ruff facts.",
        "",
        "## Promotion criteria",
        "",
        "A labs module moves to production when every criterion passes; *unknown* is not a pass:",
        "",
        f"- coverage ≥ {COVERAGE_TARGET:g} % of the module's lines;",
        "- tracer spans and Prometheus metrics present in its code;",
        "- p95 latency within its budget;",
        "- no cross-lane import (the lane guard);",
        "- a rollback flag (`LUKHAS_<MODULE>_ENABLED`) documented in the README settings.",
        "",
        "| module | status | coverage | spans | metrics | p95 | cross-lane imports "
        "| rollback flag |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for promotion in promotions:
        cells = [f"{_ICON[c.status]}: {c.detail}" for c in promotion.criteria]
        lines.append(
            f"| `{promotion.module}` | {_ICON[promotion.status]} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


def promotions_to_dict(promotions: list[ModulePromotion]) -> list[dict[str, Any]]:
    return [
        {
            "module": p.module,
            "status": p.status,
            "criteria": [
                {"name": c.name, "status": c.status, "detail": c.detail} for c in p.criteria
            ],
        }
        for p in promotions
    ]
