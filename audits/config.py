"""The lanes config of a codebase and the quality gate file, parsed and checked.

Pure (no Django): ``load_lanes(path)`` and ``load_gate_file(path)`` read YAML,
validate it with pydantic and raise :class:`ConfigError` naming the file and
the key (``configs/audits/lukhas.yaml: smoke.timeout: ...``) so a typo never
becomes a silent default. Paths of the audited code (hot paths, smoke tests,
docs, the OpenAPI spec, the secrets baseline) are relative to the codebase's
checkout; the files a config names (the gate file, the licence policy) are
relative to the config file's own directory. docs/audits.md documents every key.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

COLLECTORS = (
    "smoke",
    "ruff",
    "compileall",
    "coverage",
    "lane_guard",
    "pip_audit",
    "licences",
    "sbom",
    "secrets",
    "docs_links",
    "openapi",
    "compat",
)


_M = TypeVar("_M", bound=BaseModel)


class ConfigError(ValueError):
    """A config file that cannot be used; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Lanes(_Strict):
    production: list[str] = Field(min_length=1)
    labs: list[str] = []

    @field_validator("production", "labs")
    @classmethod
    def _dotted(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name or not all(part.isidentifier() for part in name.split(".")):
                raise ValueError(f"{name!r} is not a package name")
        return value


class SmokeConfig(_Strict):
    paths: list[str] = Field(min_length=1)
    args: list[str] = []
    timeout: float = Field(default=300, gt=0)


class CoverageConfig(_Strict):
    paths: list[str] = Field(min_length=1, description="pytest paths run under coverage")
    args: list[str] = []
    timeout: float = Field(default=600, gt=0)


class PathsConfig(_Strict):
    paths: list[str] = Field(default=["."], min_length=1)
    exclude: list[str] = []
    timeout: float = Field(default=300, gt=0)


class PipAuditConfig(_Strict):
    requirements: str = Field(description="a requirements file, relative to the checkout")
    args: list[str] = []
    timeout: float = Field(default=300, gt=0)


class LicencesConfig(_Strict):
    policy: str = Field(description="allow-list file, relative to the config's directory")
    timeout: float = Field(default=120, gt=0)


class SbomConfig(_Strict):
    # "environment": the interpreter's installed packages; "requirements": a file.
    source: Literal["environment", "requirements"] = "environment"
    requirements: str = ""
    timeout: float = Field(default=300, gt=0)


class SecretsConfig(_Strict):
    baseline: str = Field(description="detect-secrets baseline, relative to the checkout")
    # Outside a git checkout (or for untracked files) scan every file, not `git ls-files`.
    all_files: bool = False
    exclude_files: str = ""
    timeout: float = Field(default=300, gt=0)


class OpenApiConfig(_Strict):
    spec: str
    baseline: str = ""
    timeout: float = Field(default=120, gt=0)


class CompatPattern(_Strict):
    name: str = Field(min_length=1)
    pattern: str = Field(min_length=1, description="a regular expression")


class CompatConfig(_Strict):
    patterns: list[CompatPattern] = []
    globs: list[str] = ["**/*.py"]
    exclude: list[str] = []


class LanesConfig(_Strict):
    """``configs/audits/<name>.yaml``: one codebase, its lanes and how to audit it."""

    version: int = 1
    name: str = Field(min_length=1, pattern=r"^[-a-z0-9_]+$")
    path: str = Field(description="the checkout, relative to the site's BASE_DIR or absolute")
    description: str = ""
    git_remote: str = ""
    git_ref: str = ""
    lanes: Lanes
    hot_paths: list[str] = []
    quality_gate: str = Field(description="gate file, relative to the config's directory")
    # The interpreter that runs the codebase's tests and owns its packages
    # (smoke, coverage, licences, the SBOM); empty: the site's own.
    python: str = ""
    # Extra environment of every tool (values may use {workdir} and {checkout}).
    env: dict[str, str] = {}
    collectors: list[str] = list(COLLECTORS)
    smoke: SmokeConfig | None = None
    coverage: CoverageConfig | None = None
    ruff: PathsConfig = PathsConfig()
    compileall: PathsConfig | None = None
    pip_audit: PipAuditConfig | None = None
    licences: LicencesConfig | None = None
    sbom: SbomConfig = SbomConfig()
    secrets: SecretsConfig | None = None
    docs_links: PathsConfig = PathsConfig(paths=["."])
    openapi: OpenApiConfig | None = None
    compat: CompatConfig = CompatConfig()

    @field_validator("collectors")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(COLLECTORS))
        if unknown:
            raise ValueError(f"unknown collectors {unknown}; known: {list(COLLECTORS)}")
        return value

    def lane_of(self, relative_file: str) -> str:
        """'production', 'labs' or '' for a file path relative to the checkout."""
        module = relative_file.removesuffix(".py").replace("\\", "/").replace("/", ".")
        for lane, packages in (("labs", self.lanes.labs), ("production", self.lanes.production)):
            if any(module == p or module.startswith(p + ".") for p in packages):
                return lane
        return ""

    def is_hot(self, relative_file: str) -> bool:
        path = relative_file.replace("\\", "/")
        return any(path.startswith(h.rstrip("/") + "/") or path == h for h in self.hot_paths)


Comparator = Literal[">", ">=", "<", "<=", "==", "!="]


class GateCondition(_Strict):
    metric: str = Field(min_length=1, description="a key of the report's facts")
    comparator: Comparator
    threshold: float
    description: str = ""
    # The plans' metrics tracking table: where the team started from.
    baseline: float | None = None


class GateDefinition(_Strict):
    name: str = Field(min_length=1, pattern=r"^[-a-z0-9_]+$")
    description: str = ""
    conditions: list[GateCondition] = Field(min_length=1)


class GateFile(_Strict):
    """``configs/audits/quality_gate.yaml``: the gates, the first one the report's status."""

    version: str = Field(min_length=1)
    gates: list[GateDefinition] = Field(min_length=1)

    @field_validator("gates")
    @classmethod
    def _unique(cls, value: list[GateDefinition]) -> list[GateDefinition]:
        names = [g.name for g in value]
        if len(set(names)) != len(names):
            raise ValueError(f"gate names repeat: {names}")
        return value


class LicencePolicy(_Strict):
    """``configs/audits/licences.yaml``: licences allowed, and packages let through by name."""

    version: int = 1
    allowed: list[str] = Field(min_length=1)
    # Package name -> why it is allowed despite its licence string.
    exceptions: dict[str, str] = {}


def _load_yaml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}:{where} not YAML: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return value


def _parse(model: type[_M], path: Path) -> _M:
    try:
        return model.model_validate(_load_yaml(path))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from None


def load_lanes(path: Path) -> LanesConfig:
    """Read and check a codebase's lanes config; ConfigError names file and key."""
    return _parse(LanesConfig, path)


def load_gate_file(path: Path) -> GateFile:
    return _parse(GateFile, path)


def load_licence_policy(path: Path) -> LicencePolicy:
    return _parse(LicencePolicy, path)


def gate_file_path(config_path: Path, config: LanesConfig) -> Path:
    return (config_path.parent / config.quality_gate).resolve()


def config_checksum(*paths: Path) -> str:
    """sha256 over the named files' bytes: a changed config makes reports not comparable."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes() if path.exists() else b"(missing)")
    return digest.hexdigest()
