"""Configuration mistakes of the audits app as system checks (``audits.E001``).

A broken default lanes config or gate file would otherwise surface only at
the end of a nightly audit; ``manage.py check`` (and every process start)
names the file and the key now.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core import checks

from audits.config import ConfigError, gate_file_path, load_gate_file, load_lanes


def check_default_config(app_configs: object = None, **kwargs: object) -> list[checks.CheckMessage]:
    path = Path(settings.AUDITS_DEFAULT_CONFIG)
    path = path if path.is_absolute() else settings.BASE_DIR / path
    try:
        config = load_lanes(path)
        load_gate_file(gate_file_path(path, config))
    except ConfigError as exc:
        return [
            checks.Error(
                str(exc),
                hint="Fix the file, or point LUKHAS_AUDITS_DEFAULT_CONFIG at a lanes config "
                "(docs/audits.md, 'Config files').",
                id="audits.E001",
            )
        ]
    return []


def register() -> None:
    checks.register(check_default_config, "audits")
