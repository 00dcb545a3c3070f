"""Template helpers of the soak pages, and the overview's soak block."""

from __future__ import annotations

from typing import Any

from django import template

from soak import selectors

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    """``{{ badges|get_item:run.phase }}``: a dict's value by a variable key ("" if absent)."""
    return mapping.get(key, "") if isinstance(mapping, dict) else ""


@register.inclusion_tag("soak/overview_block.html")
def soak_state() -> dict[str, Any]:
    """The overview's soak block: the active run (else the latest), its phase and hours."""
    return {"run": selectors.run_for_page()}


@register.filter
def shown(value: float | None) -> str:
    """A measured number as written (0.91, 48), or "unknown" for no data — never 0."""
    return "unknown" if value is None else f"{value:g}"
