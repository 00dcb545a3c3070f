"""SLO budgets as code: ``configs/observability/slo_budgets.yaml`` → Prometheus rules.

Sloth (and Pyrra) turn an SLO spec into recording rules and multiwindow,
multi-burn-rate alerts; Sloth is a Go binary we cannot install here, so this
module generates the same shape, with Sloth's rule and label names, so its
dashboards and queries work unchanged on our rules:

- ``slo:sli_error:ratio_rate<w>`` for w in 5m, 30m, 1h, 2h, 6h, 1d, 3d (from
  the SLI's queries) and 30d (the mean of the 5m ratio over the period);
- ``slo:objective:ratio``, ``slo:error_budget:ratio``, ``slo:time_period:days``,
  ``slo:current_burn_rate:ratio``, ``slo:period_burn_rate:ratio``,
  ``slo:period_error_budget_remaining:ratio``;
- every series labelled ``sloth_id="<service>-<slo>"``, ``sloth_service``,
  ``sloth_slo`` (the SLI ratios also ``sloth_window``);
- per SLO one alert name, twice: ``severity: page`` (14.4x the budget over
  1 h and 5 m, or 6x over 6 h and 30 m) and ``severity: ticket`` (3x over 1 d
  and 2 h, or 1x over 3 d and 6 h), the Google SRE workbook's windows.

Pure (no Django) so the loader and the generator can be tested alone; the
management command ``slo_rules`` only reads and writes the files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

REPO = Path(__file__).resolve().parent.parent
SPEC_PATH = REPO / "configs" / "observability" / "slo_budgets.yaml"
RULES_PATH = REPO / "ops" / "prometheus" / "rules" / "slo.yml"

# The SLI windows Sloth records; the alerts below read pairs of them.
SLI_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d")
PERIOD_DAYS = {"30d": 30}
SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


@dataclass(frozen=True)
class BurnWindow:
    """One condition of a burn-rate alert: ``factor`` x budget over both windows."""

    factor: float
    long: str
    short: str


# Severity → its two conditions (either fires the alert), and the runbook
# section that says what to do (docs/runbooks/<alert>.md#<anchor>).
BURN_ALERTS: dict[str, tuple[tuple[BurnWindow, ...], str]] = {
    "page": ((BurnWindow(14.4, "1h", "5m"), BurnWindow(6, "6h", "30m")), "page-fast-burn"),
    "ticket": ((BurnWindow(3, "1d", "2h"), BurnWindow(1, "3d", "6h")), "ticket-slow-burn"),
}


class SLI(BaseModel):
    model_config = ConfigDict(extra="forbid")

    error_query: str = Field(description="PromQL of the bad events' rate, with {window}")
    total_query: str = Field(description="PromQL of all events' rate, with {window}")

    @field_validator("error_query", "total_query")
    @classmethod
    def _has_window(cls, value: str) -> str:
        value = " ".join(value.split())
        if "{window}" not in value:
            raise ValueError("must contain {window} where the rate window goes")
        return value


class SLO(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The SLO's name within its service (a slug)")
    service: str = Field(description="The service it belongs to (a slug)")
    description: str
    objective: float = Field(gt=0, lt=100, description="Percent of good events")
    window: Literal["30d"] = "30d"
    owner: str = Field(min_length=1)
    sli: SLI

    @field_validator("id", "service")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("must be a lowercase slug like 'pdp-latency'")
        return value

    @property
    def sloth_id(self) -> str:
        return f"{self.service}-{self.id}"

    @property
    def objective_ratio(self) -> float:
        return round(self.objective / 100, 10)

    @property
    def error_budget(self) -> float:
        return round(1 - self.objective / 100, 10)

    @property
    def alert_name(self) -> str:
        """``lukhas-v1`` + ``stream-first-byte`` → ``LukhasV1StreamFirstByteBudgetBurn``."""
        words = f"{self.service}-{self.id}".split("-")
        return "".join(word[:1].upper() + word[1:] for word in words) + "BudgetBurn"

    @property
    def runbook(self) -> str:
        return f"docs/runbooks/{self.alert_name}.md"

    def labels(self) -> dict[str, str]:
        return {"sloth_id": self.sloth_id, "sloth_service": self.service, "sloth_slo": self.id}


class SLOFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: str
    slos: list[SLO] = Field(min_length=1)

    @field_validator("slos")
    @classmethod
    def _unique(cls, slos: list[SLO]) -> list[SLO]:
        seen: set[str] = set()
        for slo in slos:
            if slo.sloth_id in seen:
                raise ValueError(f"two SLOs are {slo.sloth_id} (service + id must be unique)")
            seen.add(slo.sloth_id)
        return slos


class SLOFileError(ValueError):
    """The budgets file cannot be used; the message names the file, the SLO and the key."""


def parse_slos(text: str, *, path: str = "slo_budgets.yaml") -> SLOFile:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SLOFileError(f"{path}: not valid YAML ({exc})") from exc
    if not isinstance(raw, dict):
        raise SLOFileError(f"{path}: expected a mapping with 'version' and 'slos'")
    try:
        return SLOFile.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            loc = list(error["loc"])
            if len(loc) >= 2 and loc[0] == "slos" and isinstance(loc[1], int):
                slos = raw.get("slos") or []
                slo = slos[loc[1]] if loc[1] < len(slos) else {}
                name = (
                    f"{slo.get('service', '?')}-{slo.get('id', '?')}"
                    if isinstance(slo, dict)
                    else f"#{loc[1] + 1}"
                )
                loc = [f"slo {name}", *loc[2:]]
            problems.append(f"{'.'.join(str(p) for p in loc) or 'file'}: {error['msg']}")
        raise SLOFileError(f"{path}: " + "; ".join(problems)) from exc


def load_slos(path: str | Path = SPEC_PATH) -> SLOFile:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SLOFileError(f"{path}: cannot read the budgets file ({exc.strerror})") from exc
    return parse_slos(text, path=str(path))


# --- generation -------------------------------------------------------------------


def _number(value: float) -> str:
    return format(value, ".10g")


def _selector(slo: SLO) -> str:
    return ", ".join(f'{key}="{value}"' for key, value in slo.labels().items())


def _sli_rule(slo: SLO, window: str) -> dict[str, Any]:
    errors = slo.sli.error_query.replace("{window}", window)
    total = slo.sli.total_query.replace("{window}", window)
    return {
        "record": f"slo:sli_error:ratio_rate{window}",
        # `> 0`: a window without traffic is no data, not 0/0 = NaN (a NaN would
        # poison the 30-day mean below for 30 days). clamp_min: a latency SLI's
        # errors are count minus bucket, two series that rate() extrapolates
        # separately, so a young series can read a little below 0 errors.
        "expr": f"clamp_min({errors}, 0)\n/\n(({total}) > 0)\n",
        "labels": {**slo.labels(), "sloth_window": window},
    }


def _period_rule(slo: SLO) -> dict[str, Any]:
    # Sloth's way: the mean of the 5m ratio over the period, so the 30d figure
    # costs no 30-day range over the raw counters.
    sel = _selector(slo)
    return {
        "record": f"slo:sli_error:ratio_rate{slo.window}",
        "expr": (
            f"sum_over_time(slo:sli_error:ratio_rate5m{{{sel}}}[{slo.window}])\n"
            f"/ ignoring (sloth_window)\n"
            f"count_over_time(slo:sli_error:ratio_rate5m{{{sel}}}[{slo.window}])\n"
        ),
        "labels": {**slo.labels(), "sloth_window": slo.window},
    }


def _meta_rules(slo: SLO) -> list[dict[str, Any]]:
    sel = _selector(slo)
    per_budget = (
        f"/ on(sloth_id, sloth_slo, sloth_service) group_left\nslo:error_budget:ratio{{{sel}}}\n"
    )
    exprs = {
        "slo:objective:ratio": f"vector({_number(slo.objective_ratio)})",
        "slo:error_budget:ratio": f"vector({_number(slo.error_budget)})",
        "slo:time_period:days": f"vector({PERIOD_DAYS[slo.window]})",
        "slo:current_burn_rate:ratio": f"slo:sli_error:ratio_rate5m{{{sel}}}\n{per_budget}",
        "slo:period_burn_rate:ratio": (
            f"slo:sli_error:ratio_rate{slo.window}{{{sel}}}\n{per_budget}"
        ),
        "slo:period_error_budget_remaining:ratio": f"1 - slo:period_burn_rate:ratio{{{sel}}}",
    }
    return [{"record": name, "expr": expr, "labels": slo.labels()} for name, expr in exprs.items()]


def _alert_rule(slo: SLO, severity: str) -> dict[str, Any]:
    conditions, anchor = BURN_ALERTS[severity]
    sel = _selector(slo)
    budget = _number(slo.error_budget)
    clauses = []
    for burn in conditions:
        threshold = f"({_number(burn.factor)} * {budget})"
        short, long = (
            f"  max(slo:sli_error:ratio_rate{window}{{{sel}}} > {threshold}) without (sloth_window)"
            for window in (burn.short, burn.long)
        )
        clauses.append(f"(\n{short}\n  and\n{long}\n)")
    speed = "fast" if severity == "page" else "slowly but steadily"
    return {
        "alert": slo.alert_name,
        "expr": "\nor\n".join(clauses) + "\n",
        "labels": {"severity": severity, "owner": slo.owner},
        "annotations": {
            "summary": (
                f"{slo.sloth_id} burns its 30-day error budget {speed} "
                f"(objective {_number(slo.objective)} %: {slo.description})"
            ),
            "description": (
                f"The error budget is {_number(slo.error_budget * 100)} % of events over "
                f"{slo.window}; this fires at "
                + " or ".join(
                    f"{_number(b.factor)}x the budget over both {b.long} and {b.short}"
                    for b in conditions
                )
                + "."
            ),
            "runbook_url": f"{slo.runbook}#{anchor}",
        },
    }


def generate_rules(slo_file: SLOFile) -> dict[str, Any]:
    """The rule file's content: three groups per SLO, as Sloth names them."""
    groups = []
    for slo in slo_file.slos:
        groups.append(
            {
                "name": f"sloth-slo-sli-recordings-{slo.sloth_id}",
                "rules": [*(_sli_rule(slo, w) for w in SLI_WINDOWS), _period_rule(slo)],
            }
        )
        groups.append(
            {"name": f"sloth-slo-meta-recordings-{slo.sloth_id}", "rules": _meta_rules(slo)}
        )
        groups.append(
            {
                "name": f"sloth-slo-alerts-{slo.sloth_id}",
                "rules": [_alert_rule(slo, severity) for severity in BURN_ALERTS],
            }
        )
    return {"groups": groups}


HEADER = """\
# GENERATED by `make slo-rules` (manage.py slo_rules) from
# configs/observability/slo_budgets.yaml — do not edit; change the budgets and
# regenerate (docs/ops/SLOs.md). Sloth's rule shape and names (lukhas_site/slo.py).
"""


class _Dumper(yaml.SafeDumper):
    """Block scalars for multi-line PromQL, so the file reads like a hand-written one."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)
# The same labels on many rules: written out each time, never as YAML anchors.
_Dumper.ignore_aliases = lambda self, data: True  # type: ignore[method-assign]


def render_rules(slo_file: SLOFile) -> str:
    """The exact text of ops/prometheus/rules/slo.yml (stable: the drift test compares it)."""
    body = yaml.dump(
        generate_rules(slo_file),
        Dumper=_Dumper,
        sort_keys=False,
        width=1000,
        allow_unicode=True,
    )
    return HEADER + body
