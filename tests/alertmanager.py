"""amtool for tests: Debian's ``prometheus-alertmanager`` package, never a download.

Like tests/prometheus.py: apt-installed by the set-up when missing (a failure
under ``CI=true``, a skip elsewhere). Only ``amtool`` is used (``check-config``
and ``config routes test`` read a file); no Alertmanager is started.
"""

from __future__ import annotations

import os

import pytest

from tests.services import apt_install, unavailable

AMTOOL = "/usr/bin/amtool"


@pytest.fixture(scope="session")
def amtool_bin() -> str:
    """Debian's amtool, apt-installed when missing; skip (fail in CI) if not."""
    if os.path.exists(AMTOOL):
        return AMTOOL
    problem = apt_install("prometheus-alertmanager")
    if problem is None and os.path.exists(AMTOOL):
        return AMTOOL
    unavailable(f"{AMTOOL} is missing and could not be installed ({problem or 'no binary'})")
    raise AssertionError("unreachable: unavailable() skips or fails")
