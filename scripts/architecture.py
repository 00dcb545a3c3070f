"""Write the generated parts of docs/architecture.md from the code itself.

The graph between modules is declared as import-linter contracts in
``pyproject.toml``; this script draws what the code actually imports (grimp,
the graph library import-linter runs on), grouped by the layers those
contracts name, so the picture cannot drift from the code. The request paths
are recorded by ``tests/architecture/paths.py`` (a tracer around real
requests) and passed in as JSON.

    python scripts/architecture.py            # rewrite docs/architecture.md
    python scripts/architecture.py --check    # exit 1 if it is out of date

Nothing on PyPI renders an import-linter layers contract as a diagram, which
is why this ~150-line script exists.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections import defaultdict
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "architecture.md"
PATHS = ROOT / "docs" / "architecture-paths.json"
BEGIN = "<!-- generated:{name} (scripts/architecture.py; do not edit by hand) -->"
END = "<!-- /generated:{name} -->"


def _config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def _layers(config: dict) -> tuple[list[str], list[list[str]]]:
    for contract in config["contracts"]:
        if contract["type"] == "layers":
            layers = [
                [name.strip().strip("()") for name in re.split(r"[|:]", layer)]
                for layer in contract["layers"]
            ]
            return contract["containers"], layers
    raise SystemExit("pyproject.toml declares no layers contract")


def _short(module: str, depth: int = 2) -> str:
    return ".".join(module.split(".")[:depth])


def _graph(packages: list[str]) -> grimp.ImportGraph:
    sys.path.insert(0, str(ROOT))
    present = [p for p in packages if (ROOT / p).is_dir()]
    return grimp.build_graph(*present, include_external_packages=False)


def _edges(graph: grimp.ImportGraph, depth: int) -> dict[tuple[str, str], int]:
    edges: dict[tuple[str, str], int] = defaultdict(int)
    for importer in graph.modules:
        if ".migrations" in importer:
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            if ".migrations" in imported:
                continue
            a, b = _short(importer, depth), _short(imported, depth)
            if a != b:
                edges[(a, b)] += 1
    return edges


def _node_id(name: str) -> str:
    return name.replace(".", "_")


def apps_section(graph: grimp.ImportGraph, packages: list[str]) -> str:
    edges = _edges(graph, 1)
    lines = ["```mermaid", "flowchart LR"]
    for package in packages:
        if any(package in pair for pair in edges) or (ROOT / package).is_dir():
            lines.append(f"  {_node_id(package)}[{package}]")
    for (a, b), count in sorted(edges.items()):
        lines.append(f"  {_node_id(a)} -->|{count}| {_node_id(b)}")
    lines.append("```")
    return "\n".join(lines)


def app_section(graph: grimp.ImportGraph, app: str, layers: list[list[str]]) -> str:
    """One app's modules, in the contract's layers (top = entry points), and its edges."""
    modules = sorted({_short(m) for m in graph.modules if m.startswith(app + ".")} - {app})
    modules = [m for m in modules if not m.endswith(".migrations")]
    layer_of: dict[str, int] = {}
    for index, names in enumerate(layers):
        for name in names:
            layer_of[f"{app}.{name}"] = index
    titles = ["entry points", "services", "selectors", "models"]
    lines = ["```mermaid", "flowchart TB"]
    grouped: dict[int, list[str]] = defaultdict(list)
    for module in modules:
        grouped[layer_of.get(module, len(layers))].append(module)
    for index in sorted(grouped):
        title = titles[index] if index < len(titles) else "helpers (outside the layers)"
        lines.append(f'  subgraph {_node_id(app)}_{index}["{title}"]')
        for module in grouped[index]:
            lines.append(f"    {_node_id(module)}[{module.split('.', 1)[1]}]")
        lines.append("  end")
    for a, b in sorted(_edges(graph, 2)):
        if a in modules and b in modules:
            lines.append(f"  {_node_id(a)} --> {_node_id(b)}")
    lines.append("```")
    return "\n".join(lines)


def contracts_section(config: dict) -> str:
    rows = ["| id | contract | type |", "|---|---|---|"]
    for contract in config["contracts"]:
        rows.append(f"| `{contract['id']}` | {contract['name']} | {contract['type']} |")
    return "\n".join(rows)


def paths_section() -> str:
    if not PATHS.exists():
        return "_No recorded paths: run `make architecture`._"
    recorded = json.loads(PATHS.read_text())
    out = []
    for name, path in recorded.items():
        modules = path["modules"]
        out.append(f"**{name}** — {path['hops']} hops through {len(set(modules))} modules:\n")
        out.append(" → ".join(f"`{m}`" for m in modules))
        out.append("")
    return "\n".join(out).rstrip()


def render(text: str, sections: dict[str, str]) -> str:
    for name, body in sections.items():
        begin, end = BEGIN.format(name=name), END.format(name=name)
        pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
        if not pattern.search(text):
            raise SystemExit(f"{DOC} has no {begin!r} … {end!r} markers")
        text = pattern.sub(lambda _m: f"{begin}\n{body}\n{end}", text)  # noqa: B023
    return text


def sections() -> dict[str, str]:
    config = _config()
    containers, layers = _layers(config)
    graph = _graph(config["root_packages"])
    out = {
        "contracts": contracts_section(config),
        "apps": apps_section(graph, config["root_packages"]),
        "paths": paths_section(),
    }
    for app in containers:
        modules = {m for m in graph.modules if m.startswith(app + ".")}
        # An app that is still only its AppConfig (soak, audits today) has no graph to show.
        if len(modules - {f"{app}.apps", f"{app}.urls", f"{app}.views"}) > 1:
            out[f"app:{app}"] = app_section(graph, app, layers)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the doc is out of date")
    args = parser.parse_args(argv)
    current = DOC.read_text()
    wanted = render(current, sections())
    if args.check:
        if wanted != current:
            print(f"{DOC.relative_to(ROOT)} is out of date: run `make architecture`.")
            return 1
        return 0
    DOC.write_text(wanted)
    print(f"wrote {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
