"""Serve plotly.js from the installed plotly package: no CDN, same version as Python."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core import checks
from django.core.files.storage import FileSystemStorage

PLOTLY_STATIC_PATH = "vendor/plotly.min.js"


def _plotly_js() -> Path:
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


class PlotlyFinder(BaseFinder):
    """Exposes only ``vendor/plotly.min.js``, not the rest of plotly's package data."""

    def check(self, **kwargs: object) -> list:
        if not _plotly_js().is_file():
            return [
                checks.Error(
                    "plotly.min.js is missing from the installed plotly package",
                    hint="Reinstall with `make install`.",
                    id="lukhas.E010",
                )
            ]
        return []

    def find(self, path: str, find_all: bool = False, **kwargs: object) -> str | list[str]:
        if path == PLOTLY_STATIC_PATH:
            found = str(_plotly_js())
            return [found] if find_all else found
        return [] if find_all else ""

    def list(self, ignore_patterns: list[str] | None):  # noqa: ANN201 - finder protocol
        """collectstatic copies ``plotly.min.js`` from this storage to ``vendor/``."""
        storage = FileSystemStorage(location=str(_plotly_js().parent))
        storage.prefix = "vendor"
        yield "plotly.min.js", storage
