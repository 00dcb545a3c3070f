"""Template context shared by every page: the navigation and the mode."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

NAV = [
    ("overview", "Overview"),
    ("coordination", "Coordination"),
    ("soak", "Soak"),
    # Two kinds of health: the running services (readiness) and the codebases (audits).
    ("health", "Service health"),
    ("audits", "Codebase health"),
    ("matriz", "MATRIZ"),
    ("jobs", "Jobs"),
    ("api-docs", "API docs"),
]


def site(request: HttpRequest) -> dict:
    match = getattr(request, "resolver_match", None)
    return {
        "nav_items": NAV,
        "nav_active": match.url_name if match else "",
        "site_mode": "embedded" if settings.EMBEDDED else "redis",
        "site_env": settings.LUKHAS_ENV,
    }
