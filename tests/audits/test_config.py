"""The lanes config, the gate file and the licence policy: real files load, bad ones say where."""

from __future__ import annotations

from pathlib import Path

import pytest

from audits.checks import check_default_config
from audits.config import (
    ConfigError,
    gate_file_path,
    load_gate_file,
    load_lanes,
    load_licence_policy,
)
from tests.services import REPO

LUKHAS = REPO / "configs" / "audits" / "lukhas.yaml"


def test_it_loads_this_projects_configs():
    config = load_lanes(LUKHAS)
    assert config.name == "lukhas"
    assert "guardian" in config.lanes.production and config.lanes.labs == []
    gate_file = load_gate_file(gate_file_path(LUKHAS, config))
    assert [g.name for g in gate_file.gates] == ["release", "rc"]
    policy = load_licence_policy(LUKHAS.parent / config.licences.policy)
    assert "MIT" in policy.allowed


def test_it_knows_lanes_and_hot_paths_of_a_file():
    config = load_lanes(LUKHAS)
    assert config.lane_of("matriz/engine/router.py") == "production"
    assert config.lane_of("tests/matriz/test_page.py") == ""
    assert config.is_hot("matriz/engine/router.py")
    assert not config.is_hot("matriz/views.py")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("name: x\npath: .\nquality_gate: q.yaml\nlanes: {production: []}\n", "lanes.production"),
        ("name: x\npath: .\nquality_gate: q.yaml\nlanes: {production: [a]}\nsmok: {}\n", "smok"),
        (
            "name: x\npath: .\nquality_gate: q.yaml\nlanes: {production: [a]}\n"
            "smoke: {paths: [t], timeout: -1}\n",
            "smoke.timeout",
        ),
        ("name: x\npath: .\nlanes: {production: [a]}\n", "quality_gate"),
        ("name: x\npath: .\nquality_gate: q\nlanes: {production: ['not a package']}\n", "lanes"),
        (
            "name: x\npath: .\nquality_gate: q\nlanes: {production: [a]}\ncollectors: [nope]\n",
            "collectors",
        ),
    ],
)
def test_it_names_the_file_and_key_of_a_mistake(tmp_path, text, where):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_lanes(path)
    assert str(error.value).startswith(f"{path}: ")
    assert where in str(error.value)


def test_it_gives_the_line_of_broken_yaml(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nlanes: [\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: line \d+"):
        load_lanes(path)


def test_it_refuses_a_gate_with_an_unknown_comparator(tmp_path):
    path = tmp_path / "gate.yaml"
    path.write_text(
        'version: "1"\ngates:\n  - name: g\n    conditions:\n'
        "      - {metric: a.b, comparator: '=>', threshold: 1}\n"
    )
    with pytest.raises(ConfigError, match=r"gates\.0\.conditions\.0\.comparator"):
        load_gate_file(path)


def test_it_says_a_missing_file_is_missing():
    with pytest.raises(ConfigError, match="cannot read"):
        load_lanes(Path("/nonexistent/lanes.yaml"))


def test_it_reports_a_broken_default_config_as_a_system_check(tmp_path, settings):
    assert check_default_config() == []
    bad = tmp_path / "lanes.yaml"
    bad.write_text("name: x\npath: .\nquality_gate: missing.yaml\nlanes: {production: [a]}\n")
    settings.AUDITS_DEFAULT_CONFIG = str(bad)
    (error,) = check_default_config()
    assert error.id == "audits.E001"
    assert str(tmp_path / "missing.yaml") in error.msg and "cannot read" in error.msg
