"""Site-level views: health, readiness, metrics, the shell pages and the error handlers."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from audits.selectors_ui import gate_status_overview
from lukhas_site import health, metrics
from lukhas_site.edge import too_large
from lukhas_site.errors import (
    AuthenticationFailed,
    InvalidRequest,
    NotFound,
    PermissionDenied,
    render_error,
    server_error,
)
from lukhas_site.middleware import is_api_path


# GET and HEAD: probes often use HEAD (it was a 405).
@require_safe
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: no I/O at all, so a slow database never gets the process killed."""
    return JsonResponse({"status": "ok"})


def readiness_payload() -> tuple[dict, bool]:
    results = health.run_checks()
    ready = health.is_ready(results)
    failing = [r.name for r in results if r.required and not r.ok]
    return (
        {
            "status": "ok" if ready else "unavailable",
            "failing": failing,
            "mode": "embedded" if settings.EMBEDDED else "redis",
            "checks": [r.as_dict() for r in results],
        },
        ready,
    )


@require_safe
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    payload, ready = readiness_payload()
    return JsonResponse(payload, status=200 if ready else 503)


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text: behind LUKHAS_METRICS_TOKEN, closed in production without one.

    Refusals are in the ops envelope; production needs a token or
    ``LUKHAS_METRICS_PUBLIC=true`` on purpose (system check lukhas.W010).
    """
    token = settings.METRICS_TOKEN
    if token:
        supplied = request.headers.get("Authorization", "")
        expected = f"Bearer {token}"
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            return render_error(
                request,
                AuthenticationFailed(
                    "metrics need 'Authorization: Bearer <LUKHAS_METRICS_TOKEN>'",
                    headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
                ),
            )
    elif settings.PRODUCTION and not settings.METRICS_PUBLIC:
        return render_error(
            request,
            PermissionDenied(
                "metrics are closed in production: set LUKHAS_METRICS_TOKEN (and give "
                "Prometheus the bearer token) or LUKHAS_METRICS_PUBLIC=true on purpose",
                code="metrics_closed",
            ),
        )
    body, content_type = metrics.render_latest()
    return HttpResponse(body, content_type=content_type)


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    payload, ready = readiness_payload()
    context = {"readiness": payload, "ready": ready, "gate_reports": gate_status_overview()}
    return render(request, "overview.html", context)


@login_required
def health_page(request: HttpRequest) -> HttpResponse:
    payload, ready = readiness_payload()
    descriptions = {c.name: c.description for c in health.registered_checks()}
    return render(
        request,
        "health.html",
        {"readiness": payload, "ready": ready, "descriptions": descriptions},
    )


@login_required
@require_GET
def readiness_fragment(request: HttpRequest) -> HttpResponse:
    """The readiness table alone, polled by the Overview page."""
    payload, ready = readiness_payload()
    return render(request, "partials/readiness.html", {"readiness": payload, "ready": ready})


@login_required
def api_docs(request: HttpRequest) -> HttpResponse:
    return render(request, "api_docs.html")


# --- Error handlers (lukhas_site/urls.py handler400/403/404/500) -----------
# Under /v1 and /api Django's own refusals (a bad Host, a body Django itself
# refused, an unknown route, a crash in a middleware) are JSON in the path's
# envelope; pages keep Django's HTML pages.


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api_path(request.path):
        return defaults.bad_request(request, exception)
    if isinstance(exception, RequestDataTooBig):
        declared = request.META.get("CONTENT_LENGTH")
        return render_error(
            request,
            too_large(
                settings.DATA_UPLOAD_MAX_MEMORY_SIZE,
                declared=int(declared) if declared and declared.isdigit() else None,
            ),
        )
    if isinstance(exception, DisallowedHost):
        return render_error(
            request,
            InvalidRequest(
                "The Host header names a host this site does not serve (LUKHAS_ALLOWED_HOSTS).",
                code="invalid_host",
            ),
        )
    return render_error(
        request,
        InvalidRequest(f"The request was refused as malformed ({type(exception).__name__})."),
    )


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api_path(request.path):
        return defaults.permission_denied(request, exception)
    return render_error(request, PermissionDenied(str(exception) or "Forbidden"))


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if not is_api_path(request.path):
        return defaults.page_not_found(request, exception)
    return render_error(
        request, NotFound(f"Unknown route {request.method} {request.path}.", code="unknown_route")
    )


def server_error_view(request: HttpRequest) -> HttpResponse:
    if not is_api_path(request.path):
        return defaults.server_error(request)
    return render_error(request, server_error(request))
