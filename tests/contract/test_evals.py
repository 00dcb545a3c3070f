"""The eval runner: expectations, the case format, and runs through the real SDK.

Runs go against ``FakeOpenAI`` (a canned OpenAI-shaped server in a thread):
they prove the runner and the committed cases drive the official SDK right.
Whether the façade answers them is what ``make evals`` measures.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import openai
import pytest

from evals import expect
from evals.cases import CaseError, load_cases, parse_case, select
from evals.runner import CASES_DIR, Runner, StepFailed, main, run_all, substitute
from evals.server import EVAL_SCOPES
from tests.contract.fake_openai import API_KEY, FakeOpenAI

ANSWER = {
    "object": "list",
    "data": [
        {"id": "lukhas-matriz-1", "object": "model", "tags": ["a", "b"]},
        {"id": "matriz-echo", "object": "model", "created": 3},
        {"id": "lukhas-embed-1", "object": "model", "score": 0.5},
    ],
    "output": [{"content": [{"type": "output_text", "text": "Lisbon is the capital."}]}],
    "odd key": True,
}


# --- paths and checks ----------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("object", "list"),
        ("$.object", "list"),
        ("data[0].id", "lukhas-matriz-1"),
        ("data[-1].id", "lukhas-embed-1"),
        ("data[*].id", ["lukhas-matriz-1", "matriz-echo", "lukhas-embed-1"]),
        ("data[*].created", [3]),
        ("data[?id~embed][0].id", "lukhas-embed-1"),
        ("data[?id=matriz-echo][0].created", 3),
        ("data[?id~nothing]", []),
        ("output[0].content[0].type", "output_text"),
        ('["odd key"]', True),
        ("$", ANSWER),
    ],
)
def test_it_resolves_paths(path, value):
    assert expect.resolve(ANSWER, path) == value


@pytest.mark.parametrize("path", ["nope", "data[7].id", "data[0].nope", "object[0]", "data.id"])
def test_it_says_missing_for_paths_that_lead_nowhere(path):
    assert expect.resolve(ANSWER, path) is expect.MISSING


def test_it_refuses_unreadable_paths():
    with pytest.raises(expect.PathError, match="cannot read path"):
        expect.parse_path("data[oops]")


@pytest.mark.parametrize(
    "expectation",
    [
        {"path": "object", "equals": "list"},
        {"path": "object", "not_equals": "model"},
        {"path": "data[*].id", "contains": "matriz-echo"},
        {"path": "data[*].id", "not_contains": "gpt-4"},
        {"path": "data[*].id", "contains_all": ["matriz-echo", "lukhas-matriz-1"]},
        {"path": "output[0].content[0].text", "contains": "Lisbon"},
        {"path": "output[0].content[0].text", "icontains": "LISBON"},
        {"path": "output[0].content[0].text", "starts_with": "Lisbon"},
        {"path": "output[0].content[0].text", "matches": r"capital\.$"},
        {"path": "object", "in": ["list", "page"]},
        {"path": "data", "exists": True},
        {"path": "nothing", "exists": False},
        {"path": "data", "type": "array"},
        {"path": "data[1].created", "type": "integer"},
        {"path": "data[2].score", "type": "number"},
        {"path": "data", "length": 3},
        {"path": "data[0].tags", "min_length": 2, "max_length": 2},
        {"path": "data[1].created", "gt": 2, "gte": 3, "lt": 4, "lte": 3},
    ],
)
def test_it_passes_expectations_that_hold(expectation):
    assert expect.validate(expectation) is None
    assert expect.check(expectation, ANSWER) is None


@pytest.mark.parametrize(
    ("expectation", "reason"),
    [
        ({"path": "object", "equals": "model"}, 'object: expected equals "model", got "list"'),
        ({"path": "data[*].id", "contains": "gpt-4"}, "expected contains"),
        ({"path": "nothing", "equals": 1}, "nothing: path not found, got (missing)"),
        ({"path": "data", "exists": False}, "expected to be absent"),
        ({"path": "nothing", "exists": True}, "expected to exist"),
        ({"path": "data[2].score", "type": "integer"}, 'expected type "integer", got 0.5'),
        ({"path": "object", "gt": 1}, "expected gt 1"),  # a string is not a number
        ({"path": "data", "length": 2}, "expected length 2"),
        ({"path": "data[1].created", "lte": 2}, "expected lte 2"),
    ],
)
def test_it_says_why_an_expectation_fails(expectation, reason):
    assert reason in expect.check(expectation, ANSWER)


@pytest.mark.parametrize(
    ("expectation", "problem"),
    [
        ("equals", "an expectation is an object"),
        ({"path": "x"}, "no check given"),
        ({"path": "x", "equal": 1}, "unknown check(s) ['equal']"),
        ({"path": "x[", "equals": 1}, "cannot read path"),
        ({"path": "x", "type": "float"}, "type must be one of"),
        ({"path": "x", "matches": "("}, "bad regular expression"),
    ],
)
def test_it_validates_expectations(expectation, problem):
    assert problem in expect.validate(expectation)


# --- the case format -------------------------------------------------------------


def _case_file(tmp_path: Path, *lines: object, name: str = "cases.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n"
    )
    return path


def test_it_loads_one_step_cases_and_step_lists(tmp_path):
    path = _case_file(
        tmp_path,
        "# a comment",
        "",
        {
            "name": "one",
            "tags": ["echo"],
            "call": "models.list",
            "expect": [{"path": "object", "equals": "list"}],
        },
        {
            "name": "two",
            "needs_worker": True,
            "steps": [
                {
                    "call": "post",
                    "path": "/indexes",
                    "body": {"name": "x"},
                    "save": {"index": "id"},
                },
                {
                    "call": "get",
                    "path": "/indexes/{{index}}",
                    "until": [{"path": "status", "equals": "ready"}],
                    "timeout_s": 5,
                },
            ],
            "cleanup": [{"call": "delete", "path": "/indexes/{{index}}"}],
        },
    )
    one, two = load_cases([path])
    assert (one.name, one.tags, len(one.steps), one.steps[0].call) == (
        "one",
        ("echo",),
        1,
        "models.list",
    )
    assert one.source.endswith("cases.jsonl:3")
    assert two.needs_worker and len(two.steps) == 2 and two.steps[1].timeout_s == 5.0
    assert two.steps[0].save == {"index": "id"}
    assert two.cleanup[0].call == "delete"
    assert select([one, two], keyword="tw") == [two]
    assert select([one, two], tags=["echo"]) == [one]


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{nope", "not JSON"),
        ("[]", "a case is a JSON object"),
        ({"call": "models.list"}, "'name' is required"),
        ({"name": "x", "call": "files.delete"}, "call must be one of"),
        ({"name": "x", "call": "post"}, "needs a 'path' starting with '/'"),
        ({"name": "x", "call": "models.list", "path": "/models"}, "'path' and 'body' are for"),
        ({"name": "x", "call": "models.list", "args": []}, "'args' is an object"),
        (
            {"name": "x", "call": "models.list", "expect": [{"path": "a", "is": 1}]},
            "expect[0]: unknown check",
        ),
        ({"name": "x", "call": "models.list", "save": {"v": "a["}}, "save v: cannot read path"),
        ({"name": "x", "call": "models.list", "timeout_s": 0}, "'timeout_s' must be a positive"),
        ({"name": "x", "steps": []}, "'steps' is a non-empty list"),
        (
            {"name": "x", "steps": [{"call": "models.list"}], "call": "models.list"},
            "unknown case field",
        ),
        ({"name": "x", "call": "models.list", "colour": "red"}, "unknown step field(s) ['colour']"),
        ({"name": "x", "call": "models.list", "tags": "echo"}, "'tags' is a list of strings"),
    ],
)
def test_it_says_where_a_case_file_is_wrong(tmp_path, line, problem):
    path = _case_file(tmp_path, "# first line", line)
    with pytest.raises(CaseError, match=r"cases\.jsonl:2") as caught:
        load_cases([path])
    assert problem in str(caught.value)


def test_it_refuses_a_name_used_twice_across_files(tmp_path):
    case = {"name": "same", "call": "models.list"}
    _case_file(tmp_path, case, name="a.jsonl")
    _case_file(tmp_path, case, name="b.jsonl")
    with pytest.raises(CaseError, match=r"already defined at .*a\.jsonl:1"):
        load_cases([tmp_path])
    with pytest.raises(CaseError, match="no such file"):
        load_cases([tmp_path / "missing.jsonl"])


def test_it_ships_valid_cases_for_every_suite():
    cases = load_cases([CASES_DIR])
    tags = {tag for case in cases for tag in case.tags}
    assert {"echo", "shape", "recall", "dreams", "stream", "embeddings", "errors"} <= tags
    assert all(case.needs_worker == ("dreams" in case.tags) for case in cases)
    recall = [c for c in cases if "recall" in c.tags]
    assert recall and all(c.cleanup for c in recall)  # every index made is deleted


def test_it_substitutes_variables_keeping_types():
    variables = {"index": "idx_1", "dims": 64}
    assert substitute({"a": "{{index}}", "b": ["x-{{ index }}"], "n": "{{dims}}"}, variables) == {
        "a": "idx_1",
        "b": ["x-idx_1"],
        "n": 64,
    }
    with pytest.raises(StepFailed, match=r"unknown variable \{\{nope\}\}"):
        substitute("/indexes/{{nope}}", variables)


def test_it_keeps_the_eval_key_scopes_in_step_with_guardian():
    from guardian.models import ALL_SCOPES

    assert set(EVAL_SCOPES) == ALL_SCOPES


# --- runs through the official SDK -------------------------------------------------


@pytest.fixture
def fake():
    with FakeOpenAI() as server:
        yield server


@pytest.fixture
def client(fake):
    return openai.OpenAI(base_url=fake.base_url, api_key=API_KEY, max_retries=0, timeout=10)


def test_it_passes_every_shipped_case_against_an_openai_shaped_server(client, fake):
    # The ops questions need make run's demo data and the real tools: `make evals`
    # runs them against a throwaway server that loads it (docs/evals.md).
    cases = [case for case in load_cases([CASES_DIR]) if not case.needs_demo]
    out = io.StringIO()
    results = run_all(Runner(client, sleep=lambda s: None), cases, out=out)
    failed = [f"{r.case.name}: {r.failure}" for r in results if not r.passed]
    assert not failed, out.getvalue()
    assert not fake.indexes  # cleanups deleted every index the cases made
    assert out.getvalue().count("PASS") == len(cases)


def _one(raw: dict) -> object:
    return parse_case(raw, "test:1")


def test_it_reports_the_failing_step_and_still_cleans_up(client, fake):
    case = _one(
        {
            "name": "recall",
            "steps": [
                {
                    "call": "post",
                    "path": "/indexes",
                    "body": {"name": "x"},
                    "save": {"index": "id"},
                },
                {
                    "call": "responses.create",
                    "args": {
                        "model": "lukhas-matriz-1",
                        "input": "q",
                        "metadata": {"indexes": "x"},
                    },
                    "expect": [{"path": "output_text", "contains": "Lisbon"}],
                },
            ],
            "cleanup": [{"call": "delete", "path": "/indexes/{{index}}"}],
        }
    )
    result = Runner(client).run_case(case)
    assert not result.passed
    assert result.failure.startswith("step 2 (responses.create): output_text: expected contains")
    assert not fake.indexes


def test_it_skips_cleanups_of_things_never_made(client):
    case = _one(
        {
            "name": "nothing-made",
            "steps": [{"call": "get", "path": "/nowhere"}],
            "cleanup": [{"call": "delete", "path": "/indexes/{{index}}"}],
        }
    )
    result = Runner(client).run_case(case)
    assert result.failure.startswith("HTTP 404: Unknown route GET /v1/nowhere")
    assert result.notes == []


def test_it_checks_error_answers_only_when_asked(client):
    unknown = {"call": "models.retrieve", "args": {"model": "nope"}}
    failed = Runner(client).run_case(_one({"name": "a", **unknown}))
    assert failed.failure == "HTTP 404: The model nope does not exist"
    wanted = _one(
        {
            "name": "b",
            **unknown,
            "expect_error": True,
            "expect": [
                {"path": "status", "equals": 404},
                {"path": "error.code", "equals": "model_not_found"},
            ],
        }
    )
    assert Runner(client).run_case(wanted).passed
    surprise = _one({"name": "c", "call": "models.list", "expect_error": True})
    assert Runner(client).run_case(surprise).failure == "expected an error answer, got a success"


def test_it_polls_until_the_answer_is_ready_or_the_time_is_up(client, fake):
    ticks = iter(range(100))
    naps: list[float] = []
    runner = Runner(client, sleep=naps.append, clock=lambda: next(ticks))
    fake.dreams["dream_x"] = {"id": "dream_x", "status": "queued", "polls": -10}
    poll = {
        "call": "get",
        "path": "/dreams/dream_x",
        "until": [{"path": "status", "equals": "succeeded"}],
        "timeout_s": 3,
        "interval_s": 0.25,
    }
    result = runner.run_case(_one({"name": "slow", **poll}))
    assert (
        result.failure
        == 'still not there after 3s: status: expected equals "succeeded", got "queued"'
    )
    assert naps == [0.25, 0.25]  # clock 0 → deadline 3; asked at 1, 2, gave up at 3
    fake.dreams["dream_x"]["polls"] = 0
    assert runner.run_case(_one({"name": "ready", **poll})).passed


def test_it_reports_a_crashing_case_and_goes_on(client, monkeypatch):
    def broken(**kwargs):
        raise ValueError("cannot parse that")

    monkeypatch.setattr(client.models, "list", broken)
    results = run_all(
        Runner(client),
        [
            _one({"name": "a", "call": "models.list"}),
            _one({"name": "b", "call": "models.retrieve", "args": {"model": "matriz-echo"}}),
        ],
        out=io.StringIO(),
    )
    assert [r.failure for r in results] == ["ValueError: cannot parse that", None]


def test_it_refuses_the_wrong_key(fake):
    client = openai.OpenAI(base_url=fake.base_url, api_key="lk-wrong", max_retries=0)
    result = Runner(client).run_case(_one({"name": "x", "call": "models.list"}))
    assert result.failure == "HTTP 401: Missing or invalid API key."


# --- the command line -------------------------------------------------------------


def test_it_scores_a_run_and_exits_by_the_bar(fake, tmp_path, capsys):
    path = _case_file(
        tmp_path,
        {"name": "good", "call": "models.list", "expect": [{"path": "object", "equals": "list"}]},
        {"name": "bad", "call": "models.list", "expect": [{"path": "object", "equals": "page"}]},
    )
    report = tmp_path / "out" / "results.json"
    args = ["--base-url", fake.base_url, "--api-key", API_KEY, "--cases", str(path)]
    assert main([*args, "--min-accuracy", "0.5", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "PASS  good" in out and "FAIL  bad" in out
    assert "accuracy: 1/2 = 50.0% (bar 50%) → PASS" in out
    saved = json.loads(report.read_text())
    assert saved["accuracy"] == 0.5 and [c["passed"] for c in saved["cases"]] == [True, False]
    assert main(args) == 1  # default bar: 70 %
    assert "→ FAIL" in capsys.readouterr().out


def test_it_reads_the_key_from_the_environment(fake, monkeypatch, capsys):
    monkeypatch.setenv("LUKHAS_API_KEY", API_KEY)
    assert main(["--base-url", fake.base_url, "-k", "echo.chat.plain"]) == 0
    assert "PASS  echo.chat.plain" in capsys.readouterr().out


def test_it_exits_two_when_it_cannot_run(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("LUKHAS_API_KEY", raising=False)
    assert main(["--base-url", "http://127.0.0.1:9/v1"]) == 2
    assert "give --api-key" in capsys.readouterr().err
    assert main(["--cases", str(_case_file(tmp_path, "{bad"))]) == 2
    assert "not JSON" in capsys.readouterr().err
    assert main(["-k", "no-case-has-this-name"]) == 2
    assert main(["--var", "novalue"]) == 2


def test_it_lists_cases_without_running_them(capsys):
    assert main(["--list", "--tag", "dreams"]) == 0
    assert capsys.readouterr().out.startswith("dreams.basic  [dreams, matriz]")


def test_the_ops_questions_are_at_least_twenty_and_each_states_its_facts():
    ops = [case for case in load_cases([CASES_DIR]) if case.needs_demo]
    assert len(ops) >= 20 and all("ops" in case.tags for case in ops)
    for case in ops:
        (step,) = case.steps
        assert step.args["model"] == "lukhas-matriz-1" and "metadata" not in step.args
        assert step.expect and all(e.get("contains_all") for e in step.expect)
