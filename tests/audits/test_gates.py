"""The quality gate's verdicts, unknown values, comparability and the tracking table."""

from __future__ import annotations

from audits.config import GateFile
from audits.gates import comparability, evaluate, tracking_table

GATES = GateFile.model_validate(
    {
        "version": "t1",
        "gates": [
            {
                "name": "release",
                "conditions": [
                    {"metric": "smoke.pass_percent", "comparator": ">", "threshold": 90,
                     "baseline": 71.4},
                    {"metric": "ruff.production", "comparator": "<", "threshold": 100},
                    {"metric": "pip_audit.vulnerabilities", "comparator": "==", "threshold": 0},
                ],
            },
            {
                "name": "rc",
                "conditions": [
                    {"metric": "smoke.pass_percent", "comparator": ">", "threshold": 95},
                    {"metric": "ruff.production", "comparator": "==", "threshold": 0},
                ],
            },
        ],
    }
)  # fmt: skip


def test_it_passes_when_every_condition_holds():
    facts = {"smoke.pass_percent": 92.0, "ruff.production": 12, "pip_audit.vulnerabilities": 0}
    verdicts = evaluate(GATES, facts)
    assert verdicts["release"]["status"] == "ok"
    assert verdicts["rc"]["status"] == "error"
    assert verdicts["rc"]["failed"] == ["smoke.pass_percent", "ruff.production"]
    condition = verdicts["release"]["conditions"][0]
    assert condition == {
        "metric": "smoke.pass_percent",
        "description": "",
        "comparator": ">",
        "threshold": 90,
        "actual": 92.0,
        "status": "ok",
        "baseline": 71.4,
        "comparable": True,
    }


def test_it_fails_on_the_threshold_itself_for_a_strict_comparator():
    facts = {"smoke.pass_percent": 90.0, "ruff.production": 100, "pip_audit.vulnerabilities": 0}
    assert evaluate(GATES, facts)["release"]["failed"] == ["smoke.pass_percent", "ruff.production"]


def test_it_never_passes_an_unknown_value():
    facts = {"smoke.pass_percent": 99.0, "ruff.production": 0, "pip_audit.vulnerabilities": None}
    release = evaluate(GATES, facts)["release"]
    assert release["status"] == "unknown"
    assert release["unknown"] == ["pip_audit.vulnerabilities"]
    assert release["conditions"][2]["actual"] is None


def test_it_prefers_error_over_unknown():
    facts = {"smoke.pass_percent": 50.0, "ruff.production": None}
    assert evaluate(GATES, facts)["release"]["status"] == "error"


def test_it_flags_a_changed_tool_version_as_not_like_for_like():
    now = {"ruff": {"tool_version": "0.9.1", "ruleset": "x"}, "smoke": {"tool_version": "8"}}
    before = {"ruff": {"tool_version": "0.8.0", "ruleset": "x"}, "smoke": {"tool_version": "8"}}
    comparable, notes, changed = comparability(
        now, before, config_checksum="c", previous_checksum="c"
    )
    assert comparable is False and changed == {"ruff"}
    assert notes == ["ruff: tool version changed: 0.8.0 -> 0.9.1"]
    verdicts = evaluate(GATES, {"ruff.production": 3}, changed)
    ruff = verdicts["release"]["conditions"][1]
    assert ruff["comparable"] is False and ruff["status"] == "ok"


def test_it_flags_a_changed_rule_set_and_config():
    now = {"ruff": {"tool_version": "1", "ruleset": "new"}}
    before = {"ruff": {"tool_version": "1", "ruleset": "old"}}
    comparable, notes, _ = comparability(now, before, config_checksum="a", previous_checksum="b")
    assert comparable is False
    assert notes == ["ruff: rule set changed", "the lanes config or the gate file changed"]


def test_it_is_comparable_when_nothing_changed_and_unknown_without_history():
    same = {"ruff": {"tool_version": "1", "ruleset": "r"}}
    assert comparability(same, same, config_checksum="a", previous_checksum="a")[0] is True
    assert comparability(same, None, config_checksum="a", previous_checksum=None)[0] is None


def test_it_renders_the_tracking_table_from_the_verdicts():
    facts = {"smoke.pass_percent": 92.0, "ruff.production": 12, "pip_audit.vulnerabilities": 0}
    rows = tracking_table(GATES, evaluate(GATES, facts))
    smoke = rows[0]
    assert smoke["metric"] == "smoke.pass_percent"
    assert smoke["baseline"] == 71.4 and smoke["actual"] == 92.0
    assert smoke["targets"] == {
        "release": {"target": "> 90", "status": "ok"},
        "rc": {"target": "> 95", "status": "error"},
    }
    assert [r["metric"] for r in rows] == [
        "smoke.pass_percent", "ruff.production", "pip_audit.vulnerabilities",
    ]  # fmt: skip
