"""The promotion flow: gates → a person's decision when needed → evidence → promoted → tag.

Started by ``soak.services.promotion.promotion_start`` (page, API,
``manage.py promote_rc``). Every step is idempotent, so a step whose worker
died runs again from its start (docs/jobs.md, "Rules for steps").

The approval is a ``Wait``, not an ``Approval``: a person is needed only
when a blocking gate is inconclusive, and their decision belongs on the
gates' rows (``GateResult.decided_*``, via ``promotion.gates_decide``), so
the step waits until no undecided gate is left — at once when there was
none, or when the reason was given at the start.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from jobs.flows import Flow, Step, Wait, register
from jobs.services import StepContext
from soak import evidence
from soak.models import Release
from soak.services import promotion


def _release(ctx: StepContext) -> Release:
    return Release.objects.get(pk=ctx.params["release"])


def check_gates(ctx: StepContext) -> dict[str, Any]:
    """Refuse (fail the flow) when a blocking gate failed or the run is not finished."""
    check = promotion.promotion_check(release=_release(ctx))
    if check.refused:
        raise check.refusal()
    for row in check.gates:
        ctx.log(promotion.gate_line(row) + (" (advisory)" if row.advisory else ""))
    if check.undecided:
        ctx.log(
            "a person must decide the inconclusive gates: "
            + ", ".join(row.gate_id for row in check.undecided)
        )
    return {
        "run": check.run.pk if check.run else None,
        "undecided": [row.gate_id for row in check.undecided],
        "gates": len(check.gates),
    }


def approval_given(ctx: StepContext) -> dict[str, Any] | None:
    """Met when no blocking gate is undecided (nothing to decide, or a person decided)."""
    check = promotion.promotion_check(release=_release(ctx))
    if check.refused:
        # A gate turned bad while waiting: let the next step refuse with the list.
        return {"decided": [], "refused": True}
    if check.undecided:
        return None
    decided = [
        {"gate": row.gate_id, **promotion.gate_dict(row)}
        for row in check.gates
        if row.decided_at is not None
    ]
    return {"decided": decided, "refused": False}


def pack_evidence(ctx: StepContext) -> dict[str, Any]:
    release = _release(ctx)
    check = promotion.promotion_check(release=release)
    if check.refused or check.undecided:  # the gates moved while the flow waited
        raise check.refusal() if check.refused else RuntimeError("undecided gates remain")
    pack = evidence.evidence_pack_build(
        release=release,
        progress=lambda done, total, message: ctx.log(f"evidence {done}/{total}: {message}"),
    )
    ctx.log(f"evidence pack {pack.path} sha256 {pack.sha256}")
    return pack.as_dict()


def mark_promoted(ctx: StepContext) -> dict[str, Any]:
    release = promotion.release_mark_promoted(release=_release(ctx), by_id=ctx.params.get("by"))
    ctx.log(f"{release.name} is {release.status} (GA {release.version})")
    return {"status": release.status, "promoted_at": release.promoted_at.isoformat()}


def tag_release(ctx: StepContext) -> dict[str, Any]:
    if not ctx.params.get("tag"):
        ctx.log("not asked to tag")
        return {"tagged": False}
    outcome = promotion.release_tag(release=_release(ctx), dry_run=ctx.params.get("dry_run", True))
    ctx.log(f"{outcome.message}: {outcome.command}")
    return outcome.as_dict()


register(
    Flow(
        promotion.FLOW,
        description="RC to GA: gates, a person's decision on inconclusive gates, the evidence "
        "pack, the release marked promoted, the git tag",
        steps=[
            Step("check-gates", check_gates),
            Wait(
                "approval",
                approval_given,
                poll=settings.SOAK_APPROVAL_POLL_SECONDS,
                timeout=settings.SOAK_APPROVAL_TIMEOUT_SECONDS,
            ),
            Step("pack-evidence", pack_evidence, retries=1, backoff=5, time_limit=1800),
            Step("promote", mark_promoted),
            Step("tag", tag_release, retries=1, backoff=5),
        ],
        module=__name__,
    )
)
