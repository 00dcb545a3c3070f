"""Loaded by the plan-import test worker (LUKHAS_FLOW_MODULES): an import that can pause.

With ``COORD_TEST_IMPORT_DIR`` set, an import whose progress reaches half its
tasks while ``<dir>/pause`` exists removes that file, writes ``<dir>/paused``
and sleeps: the test SIGKILLs the worker there, inside the import's
transaction, whatever the speed of the machine. The import started again
after the restart finds no ``pause`` file and runs through.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from coordination import flows

_import = flows.plan_upload_import


def _pausing_import(*, upload_id: int, progress: Any = None, **options: Any) -> Any:
    directory = Path(os.environ["COORD_TEST_IMPORT_DIR"])

    def paused_progress(done: int, total: int, message: str = "") -> None:
        if progress is not None:
            progress(done, total, message)
        pause = directory / "pause"
        if done * 4 >= total and pause.exists():  # half the tasks (the bar counts them twice)
            pause.unlink()
            (directory / "paused").write_text(f"{os.getpid()} {done}/{total}\n")
            time.sleep(120)

    return _import(upload_id=upload_id, progress=paused_progress, **options)


if os.environ.get("COORD_TEST_IMPORT_DIR"):
    flows.plan_upload_import = _pausing_import
