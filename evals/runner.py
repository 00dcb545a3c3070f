"""Run eval cases through the official ``openai`` SDK and score them.

    python -m evals                                  # starts a throwaway server itself
    python -m evals --base-url http://127.0.0.1:8000/v1 --api-key lk-...

Each case passes when every step's call succeeds (or fails, for a step that
expects an error) and every expectation holds. The accuracy is passed cases
over selected cases; at or above ``--min-accuracy`` (70 %) the exit status is
0, below it 1; 2 means the run itself could not happen (bad case file, the
server did not start, no key).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import openai

from evals import expect
from evals.cases import RAW_CALLS, Case, CaseError, Step, load_cases, select

CASES_DIR = Path(__file__).resolve().parent / "cases"
DEFAULT_MIN_ACCURACY = 0.70
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


class StepFailed(Exception):
    pass


class UnknownVariable(StepFailed):
    """A step names a variable no earlier step saved (a cleanup then has nothing to undo)."""


def substitute(value: Any, variables: dict[str, Any]) -> Any:
    """``{{name}}`` → the variable; a string that is only a placeholder keeps the value's type."""
    if isinstance(value, str):
        whole = _PLACEHOLDER.fullmatch(value.strip())
        if whole:
            return _variable(whole.group(1), variables)
        return _PLACEHOLDER.sub(lambda m: str(_variable(m.group(1), variables)), value)
    if isinstance(value, list):
        return [substitute(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: substitute(item, variables) for key, item in value.items()}
    return value


def _variable(name: str, variables: dict[str, Any]) -> Any:
    if name not in variables:
        known = ", ".join(sorted(variables)) or "none"
        raise UnknownVariable(f"unknown variable {{{{{name}}}}} (known: {known})")
    return variables[name]


def to_json(result: Any) -> Any:
    """An SDK object as plain JSON data, with the SDK's ``output_text`` convenience kept."""
    if hasattr(result, "model_dump"):
        # warnings=False: a base64 embedding is a str where the SDK types a list of floats.
        data = result.model_dump(mode="json", warnings=False)
        output_text = getattr(result, "output_text", None)
        if isinstance(data, dict) and isinstance(output_text, str):
            data["output_text"] = output_text
        return data
    return result


def collect_stream(call: str, events: Iterable[Any]) -> dict[str, Any]:
    """A streamed answer reduced to what cases check: event types, the text, the final object."""
    if call == "chat.completions.create":
        chunks = [to_json(chunk) for chunk in events]
        deltas = [c for chunk in chunks for c in chunk.get("choices") or []]
        reasons = [c.get("finish_reason") for c in deltas if c.get("finish_reason")]
        roles = [c["delta"].get("role") for c in deltas if (c.get("delta") or {}).get("role")]
        usage = [chunk["usage"] for chunk in chunks if chunk.get("usage")]
        return {
            "chunks": len(chunks),
            "objects": sorted({chunk.get("object") for chunk in chunks}),
            "role": roles[0] if roles else None,
            "content": "".join((c.get("delta") or {}).get("content") or "" for c in deltas),
            "finish_reason": reasons[-1] if reasons else None,
            "usage": usage[-1] if usage else None,
        }
    types: list[str] = []
    text: list[str] = []
    final: Any = None
    for event in events:
        kind = getattr(event, "type", None)
        types.append(kind)
        if kind == "response.output_text.delta":
            text.append(event.delta)
        elif kind in {"response.completed", "response.failed", "response.incomplete"}:
            final = to_json(event.response)
    return {
        "events": len(types),
        "event_types": list(dict.fromkeys(types)),
        "output_text": "".join(text),
        "response": final,
    }


def _error_answer(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        body = body["error"]
    return {"status": exc.status_code, "error": body if isinstance(body, dict) else {"raw": body}}


@dataclass(slots=True)
class CaseResult:
    case: Case
    passed: bool
    seconds: float
    failure: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.case.name,
            "source": self.case.source,
            "tags": list(self.case.tags),
            "passed": self.passed,
            "seconds": round(self.seconds, 3),
            "failure": self.failure,
            "notes": self.notes,
        }


class Runner:
    """Runs cases against one client; ``sleep`` and ``clock`` are injectable for tests."""

    def __init__(
        self,
        client: openai.OpenAI,
        *,
        variables: dict[str, Any] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.variables = {"run_id": uuid.uuid4().hex[:10], **(variables or {})}
        self.sleep = sleep
        self.clock = clock

    def run_case(self, case: Case) -> CaseResult:
        variables = dict(self.variables)
        started = time.perf_counter()
        failure = None
        for number, step in enumerate(case.steps, start=1):
            try:
                self.run_step(step, variables)
            except Exception as exc:
                # One broken case (an answer the SDK cannot parse…) must not end the run.
                why = str(exc) if isinstance(exc, StepFailed) else f"{type(exc).__name__}: {exc}"
                where = f"step {number} ({step.call}): " if len(case.steps) > 1 else ""
                failure = f"{where}{why}"
                break
        result = CaseResult(case, failure is None, 0.0, failure)
        for number, step in enumerate(case.cleanup, start=1):
            try:
                self.run_step(step, variables)
            except UnknownVariable:
                continue  # what it would undo was never made
            except StepFailed as exc:
                result.notes.append(f"cleanup {number} ({step.call}) failed: {exc}")
        result.seconds = time.perf_counter() - started
        return result

    def run_step(self, step: Step, variables: dict[str, Any]) -> Any:
        deadline = self.clock() + step.timeout_s
        while True:
            answer = self.call(step, variables)
            pending = [
                reason
                for wanted in step.until
                if (reason := expect.check(substitute(wanted, variables), answer))
            ]
            if not pending:
                break
            if self.clock() >= deadline:
                raise StepFailed(f"still not there after {step.timeout_s:g}s: {pending[0]}")
            self.sleep(step.interval_s)
        for wanted in step.expect:
            reason = expect.check(substitute(wanted, variables), answer)
            if reason:
                raise StepFailed(reason)
        for variable, path in step.save.items():
            value = expect.resolve(answer, path)
            if value is expect.MISSING:
                raise StepFailed(f"cannot save {variable}: nothing at {path}")
            variables[variable] = value
        return answer

    def call(self, step: Step, variables: dict[str, Any]) -> Any:
        args = substitute(step.args, variables)
        try:
            if step.call in RAW_CALLS:
                answer = self._raw(step, variables)
            else:
                target: Any = self.client
                for part in step.call.split("."):
                    target = getattr(target, part)
                result = target(**args)
                if args.get("stream"):
                    answer = collect_stream(step.call, result)
                else:
                    answer = to_json(result)
        except openai.APIStatusError as exc:
            if step.expect_error:
                return _error_answer(exc)
            message = _error_answer(exc)["error"].get("message") or str(exc)
            raise StepFailed(f"HTTP {exc.status_code}: {message}") from exc
        except openai.APIConnectionError as exc:
            raise StepFailed(f"cannot reach {self.client.base_url}: {exc}") from exc
        except openai.OpenAIError as exc:  # e.g. an error event in the middle of a stream
            raise StepFailed(f"{type(exc).__name__}: {exc}") from exc
        except TypeError as exc:  # an argument the SDK method does not take
            raise StepFailed(f"{step.call}: {exc}") from exc
        if step.expect_error:
            raise StepFailed("expected an error answer, got a success")
        return answer

    def _raw(self, step: Step, variables: dict[str, Any]) -> Any:
        """LUKHAS extensions the SDK has no method for: its generic verbs, JSON back."""
        path = substitute(step.path, variables)
        body = substitute(step.body, variables)
        if step.call == "get":
            return self.client.get(path, cast_to=object)
        if step.call == "delete":
            return self.client.delete(path, cast_to=object, body=body)
        return self.client.post(path, cast_to=object, body=body if body is not None else {})


def report_line(result: CaseResult, width: int) -> str:
    flag = "PASS" if result.passed else "FAIL"
    line = f"{flag}  {result.case.name:<{width}}  {result.seconds:6.2f}s"
    if result.failure:
        line += f"  {result.failure}"
    return line


def run_all(runner: Runner, cases: list[Case], *, out: TextIO | None = None) -> list[CaseResult]:
    out = out or sys.stdout  # looked up now, not at import: a test may have replaced it
    width = max(len(case.name) for case in cases)
    results = []
    for case in cases:
        result = runner.run_case(case)
        results.append(result)
        print(report_line(result, width), file=out, flush=True)
        for note in result.notes:
            print(f"      note: {note}", file=out)
    return results


def accuracy(results: list[CaseResult]) -> float:
    return sum(r.passed for r in results) / len(results) if results else 0.0


def _parse_vars(pairs: Iterable[str]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise CaseError(f"--var wants NAME=VALUE, not {pair!r}")
        variables[name] = value
    return variables


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m evals",
        description="Run the LUKHAS eval cases through the official openai SDK.",
    )
    parser.add_argument(
        "--base-url", help="e.g. http://127.0.0.1:8000/v1; without it a throwaway server is started"
    )
    parser.add_argument("--api-key", help="bearer key (default: $LUKHAS_API_KEY)")
    parser.add_argument(
        "--cases", nargs="+", default=[str(CASES_DIR)], help="case files or folders of *.jsonl"
    )
    parser.add_argument("-k", "--keyword", help="only cases whose name contains this")
    parser.add_argument("--tag", action="append", default=[], help="only cases with this tag")
    parser.add_argument(
        "--min-accuracy",
        type=float,
        default=DEFAULT_MIN_ACCURACY,
        help="pass bar, 0..1 (default 0.70)",
    )
    parser.add_argument("--var", action="append", default=[], help="NAME=VALUE for {{NAME}}")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--list", action="store_true", help="list the selected cases and stop")
    parser.add_argument(
        "--keep-server-dir", action="store_true", help="keep the throwaway server's folder"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        cases = select(load_cases(args.cases), keyword=args.keyword, tags=args.tag)
        variables = _parse_vars(args.var)
    except CaseError as exc:
        print(f"evals: {exc}", file=sys.stderr)
        return 2
    if not cases:
        print("evals: no case selected", file=sys.stderr)
        return 2
    if args.list:
        for case in cases:
            print(f"{case.name}  [{', '.join(case.tags)}]  {case.source}")
        return 0
    if args.base_url:
        api_key = args.api_key or os.environ.get("LUKHAS_API_KEY")
        if not api_key:
            print("evals: give --api-key or set LUKHAS_API_KEY", file=sys.stderr)
            return 2
        return _run(args, cases, variables, args.base_url, api_key)

    from evals.server import LocalServer, ServerError

    needs_worker = any(case.needs_worker for case in cases)
    needs_demo = any(case.needs_demo for case in cases)
    try:
        with LocalServer(worker=needs_worker, demo=needs_demo, keep=args.keep_server_dir) as server:
            print(f"evals: server at {server.base_url} (folder {server.folder})", flush=True)
            return _run(args, cases, variables, server.base_url, server.api_key)
    except ServerError as exc:
        print(f"evals: {exc}", file=sys.stderr)
        return 2


def _run(
    args: argparse.Namespace,
    cases: list[Case],
    variables: dict[str, str],
    base_url: str,
    api_key: str,
) -> int:
    client = openai.OpenAI(base_url=base_url, api_key=api_key, timeout=args.timeout)
    results = run_all(Runner(client, variables=variables), cases)
    score = accuracy(results)
    passed = sum(r.passed for r in results)
    verdict = "PASS" if score >= args.min_accuracy else "FAIL"
    print(
        f"\naccuracy: {passed}/{len(results)} = {score:.1%} "
        f"(bar {args.min_accuracy:.0%}) → {verdict}"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "base_url": base_url,
                    "accuracy": score,
                    "min_accuracy": args.min_accuracy,
                    "passed": passed,
                    "total": len(results),
                    "cases": [r.to_dict() for r in results],
                },
                indent=2,
            )
            + "\n"
        )
    return 0 if score >= args.min_accuracy else 1
