"""The flows of MATRIZ: a dream is a job of the one-step ``dream`` flow.

The jobs machinery (docs/jobs.md) claims the step, heartbeats it, and
resumes it exactly once when its worker dies; the step itself is
:func:`matriz.services.dream_execute`, which writes the dream row.
"""

from __future__ import annotations

from typing import Any

from jobs.flows import Flow, Step, register
from jobs.services import StepContext
from matriz import services
from matriz.facade.background import answer_in_background


def dream(ctx: StepContext) -> dict[str, Any]:
    return services.dream_execute(dream_id=ctx.params["dream"])


register(
    Flow(
        services.DREAM_FLOW,
        description="A dream over a memory index: recall, drift by association, the narrative",
        steps=[Step("dream", dream)],
        module=__name__,
    )
)


def background_response(ctx: StepContext) -> dict[str, Any]:
    return answer_in_background(response_pk=ctx.params["response"])


register(
    Flow(
        services.BACKGROUND_FLOW,
        description="A /v1/responses request sent with background: true, answered by a worker",
        steps=[Step("answer", background_response)],
        module=__name__,
    )
)
