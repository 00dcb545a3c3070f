"""Site-level views: health, readiness, metrics, and the shell pages."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from lukhas_site import health, metrics


@require_GET
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


@require_GET
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    payload, ready = readiness_payload()
    return JsonResponse(payload, status=200 if ready else 503)


@require_GET
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if token:
        supplied = request.headers.get("Authorization", "")
        expected = f"Bearer {token}"
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            response = HttpResponse(
                "metrics need 'Authorization: Bearer <LUKHAS_METRICS_TOKEN>'\n",
                status=401,
                content_type="text/plain",
            )
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    body, content_type = metrics.render_latest()
    return HttpResponse(body, content_type=content_type)


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    payload, ready = readiness_payload()
    return render(request, "overview.html", {"readiness": payload, "ready": ready})


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
