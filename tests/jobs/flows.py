"""Flows of the jobs tests, imported by the worker through LUKHAS_FLOW_MODULES.

Every step records its effect in files under the job's ``dir`` param: a line
in ``<step>.runs`` per execution (how often it ran), and ``<step>.done``
created with O_EXCL (the effect, which an idempotent step makes once).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from jobs.flows import Approval, Flow, Parallel, Step, Wait, flow, register


def runs(directory: str | Path, step: str) -> int:
    path = Path(directory) / f"{step}.runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


def done(directory: str | Path, step: str) -> bool:
    return (Path(directory) / f"{step}.done").exists()


def _begin(ctx, name: str) -> Path:
    directory = Path(ctx.params["dir"])
    with open(directory / f"{name}.runs", "a") as fh:
        fh.write(f"{ctx.worker} attempt {ctx.attempt}\n")
    return directory


def _effect(directory: Path, name: str) -> bool:
    """The step's effect, exactly once: a second run finds it done and does nothing."""
    try:
        fd = os.open(directory / f"{name}.done", os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def effect_step(name: str, *, pause_param: str = "pause"):
    def run(ctx):
        directory = _begin(ctx, name)
        time.sleep(float(ctx.params.get(pause_param, 0)))
        ctx.log(f"{name} did its work")
        return {"step": name, "first": _effect(directory, name)}

    return run


def _flaky(ctx):
    directory = _begin(ctx, "flaky")
    if runs(directory, "flaky") < 2:
        raise RuntimeError("the upstream answered 503")
    _effect(directory, "flaky")
    return {"after_attempts": ctx.attempt}


def _boom(ctx):
    _begin(ctx, "boom")
    raise ValueError("gate 'p95' is red")


def _slow(ctx):
    directory = _begin(ctx, "slow")
    seconds = float(ctx.params.get("slow_seconds", 2))
    ticks = max(1, int(seconds / 0.1))
    for tick in range(ticks):
        ctx.check_cancelled()
        ctx.progress(tick + 1, ticks, "slow work")
        time.sleep(0.1)
    _effect(directory, "slow")
    return {"ticks": ticks}


def _left(ctx):
    directory = _begin(ctx, "left")
    (directory / "ready.flag").write_text("left ran")
    _effect(directory, "left")
    return {"side": "left"}


def _ready(ctx):
    return {"flag": "seen"} if (Path(ctx.params["dir"]) / "ready.flag").exists() else None


def _join(ctx):
    directory = _begin(ctx, "join")
    sides = sorted(name for name in ("left", "right") if name in ctx.outputs)
    _effect(directory, "join")
    return {"joined": sides, "ready": ctx.outputs["ready"]}


register(
    Flow(
        "t-linear",
        steps=[
            Step("fetch", effect_step("fetch")),
            Step("build", effect_step("build")),
            Step("publish", effect_step("publish")),
        ],
        description="three steps in a row",
        module=__name__,
    )
)

register(
    Flow(
        "t-flaky",
        steps=[Step("flaky", _flaky, retries=2, backoff=0.2), Step("after", effect_step("after"))],
        module=__name__,
    )
)

register(
    Flow(
        "t-doomed",
        steps=[
            Step("ok", effect_step("ok")),
            Step("boom", _boom, retries=1, backoff=0.1),
            Step("never", effect_step("never")),
        ],
        on_failure=Step("undo", effect_step("undo")),
        module=__name__,
    )
)


@flow("t-approval")
class ApprovalFlow:
    """Prepare, a person signs off, ship; undo on a refusal."""

    steps = [
        Step("prepare", effect_step("prepare")),
        Approval("sign-off", timeout=300, prompt="ship it?"),
        Step("ship", effect_step("ship")),
    ]
    on_failure = Step("undo", effect_step("undo"))


register(
    Flow(
        "t-approval-short",
        steps=[
            Step("prepare", effect_step("prepare")),
            Approval("sign-off", timeout=1),
            Step("ship", effect_step("ship")),
        ],
        on_failure=Step("undo", effect_step("undo")),
        module=__name__,
    )
)

register(
    Flow(
        "t-slow",
        steps=[
            Step("first", effect_step("first")),
            Step("slow", _slow),
            Step("last", effect_step("last")),
        ],
        module=__name__,
    )
)

register(
    Flow(
        "t-parallel",
        steps=[
            Step("start", effect_step("start")),
            Parallel(
                Step("left", _left),
                Step("right", effect_step("right")),
                Wait("ready", _ready, poll=0.2, timeout=60),
            ),
            Step("join", _join),
        ],
        module=__name__,
    )
)

register(Flow("t-single", steps=[Step("once", effect_step("once"))], module=__name__))


def _gauge(ctx):
    from prometheus_client import REGISTRY

    value = REGISTRY.get_sample_value("lukhas_jobs_running", {"kind": "t-gauge"})
    return {"running_while_in_step": value}


register(Flow("t-gauge", steps=[Step("look", _gauge)], module=__name__))
