"""amtool for tests: Debian's ``prometheus-alertmanager`` package, never a download.

Like tests/prometheus.py: apt-installed by the set-up when missing (a failure
under ``CI=true``, a skip elsewhere). Only ``amtool`` is used (``check-config``
and ``config routes test`` read a file); no Alertmanager is started.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.services import IN_CI

AMTOOL = "/usr/bin/amtool"


@pytest.fixture(scope="session")
def amtool_bin() -> str:
    """Debian's amtool, apt-installed when missing; skip (fail in CI) if not."""
    if os.path.exists(AMTOOL):
        return AMTOOL
    problem = None
    if shutil.which("apt-get") is None:
        problem = "apt-get is not available"
    else:
        try:
            subprocess.run(
                "apt-get update && apt-get install -y prometheus-alertmanager",
                shell=True,  # a fixed command line, as the set-up documents it
                check=True,
                capture_output=True,
                timeout=900,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
            output = getattr(exc, "stderr", b"") or b""
            problem = (
                f"apt-get install -y prometheus-alertmanager failed: {exc} {output.decode()[-500:]}"
            )
    if problem is None and os.path.exists(AMTOOL):
        return AMTOOL
    reason = f"{AMTOOL} is missing and could not be installed ({problem or 'no binary'})"
    if IN_CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)
