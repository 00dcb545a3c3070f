"""Loaded by the worker of the worker-kill test (LUKHAS_FLOW_MODULES): a pack that pauses.

Every build of an evidence pack adds a line to ``pack.runs`` in
``SOAK_TEST_PACK_DIR``; with ``SOAK_TEST_PACK_PAUSE`` the first one then
sleeps that long, so the test can SIGKILL the worker mid-step.
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
    pause = float(os.environ.get("SOAK_TEST_PACK_PAUSE", "0"))
    if pause and len(runs.read_text().splitlines()) == 1:
        time.sleep(pause)
    return _build(**kwargs)


if os.environ.get("SOAK_TEST_PACK_DIR"):
    evidence.evidence_pack_build = _paused_build
