"""Loaded by the worker of the worker-kill test (LUKHAS_FLOW_MODULES): a pack that pauses.

The first build of an evidence pack writes ``pack.runs`` in
``SOAK_TEST_PACK_DIR`` and then sleeps long enough for the test to SIGKILL
the worker mid-step; later builds record themselves and run normally.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from soak import evidence

_build = evidence.evidence_pack_build


def _paused_build(**kwargs: object) -> object:
    directory = Path(os.environ["SOAK_TEST_PACK_DIR"])
    runs = directory / "pack.runs"
    with runs.open("a") as fh:
        fh.write(f"{os.getpid()}\n")
    if len(runs.read_text().splitlines()) == 1:
        time.sleep(float(os.environ.get("SOAK_TEST_PACK_PAUSE", "60")))
    return _build(**kwargs)


if os.environ.get("SOAK_TEST_PACK_DIR"):
    evidence.evidence_pack_build = _paused_build
