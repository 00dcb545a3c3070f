"""Pages of the MATRIZ section, and the /system/plugins ops endpoint."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from guardian.auth import ops_auth
from guardian.permissions import require_scope
from lukhas_site.errors import AuthenticationFailed, LukhasError, render_error
from matriz import charts, selectors
from matriz.forms import TestQueryForm
from matriz.runtime import get_runtime

QUERY_PERMISSION = "matriz.view_memoryitemmodel"
BREAKER_BADGES = {"closed": "ok", "half_open": "warn", "open": "fail"}


@login_required
@require_http_methods(["GET", "POST"])
def matriz_index(request: HttpRequest) -> HttpResponse:
    """Stages, nodes, breakers, plugins, indexes, latency, and a test query form.

    Running a query shows memory texts, so it needs the permission to view
    memory items (staff get it in the admin); everyone signed in sees the rest.
    """
    indexes = selectors.indexes_for_page()
    can_query = request.user.has_perm(QUERY_PERMISSION)
    result: dict[str, Any] | None = None
    status = 200
    if request.method == "POST":
        form = TestQueryForm(request.POST, indexes=indexes)
        if not can_query:
            form.add_error(None, "Running a test query needs the 'Can view memory item' permission")
            status = 403
        elif form.is_valid():
            index = form.chosen_index
            try:
                query = get_runtime().run_query(
                    text=form.cleaned_data["text"],
                    indexes=[index.name],
                    owner=index.owner,
                    top_k=form.cleaned_data["top_k"],
                )
            except LukhasError as exc:
                form.add_error(None, exc.message)
            else:
                result = {"index": index, "query": query, "payload": query.to_dict()}
    else:
        form = TestQueryForm(indexes=indexes)
    overview = selectors.plugins_overview()
    for breaker in overview["breakers"]:
        breaker["badge"] = BREAKER_BADGES.get(breaker["state"], "warn")
    breaker_of = {b["node"]: b for b in overview["breakers"]}
    for stage in overview["stages"]:
        for node in stage["nodes"]:
            node["breaker"] = breaker_of.get(node["name"])
    latency = charts.latency_snapshot()
    context = {
        "overview": overview,
        "plugins": [p for kind in sorted(overview["plugins"]) for p in overview["plugins"][kind]],
        "indexes": indexes,
        "dreams": selectors.dreams_recent(),
        "latency_rows": latency.rows(),
        "failures": sorted(latency.failures.items()),
        "chart_percentiles": charts.percentile_chart(latency),
        "chart_distribution": charts.distribution_chart(latency),
        "form": form,
        "can_query": can_query,
        "result": result,
        "hits": _hits(result),
    }
    return render(request, "matriz/index.html", context, status=status)


def _hits(result: dict[str, Any] | None) -> list[dict[str, Any]]:
    if result is None:
        return []
    return [
        {"id": hit.id, "score": hit.score, "text": hit.text, "metadata": dict(hit.metadata)}
        for hit in result["query"].memories
    ]


@require_GET
@never_cache
def system_plugins(request: HttpRequest) -> HttpResponse:
    """Registered MATRIZ plugins by kind (with the factory path used), errors, breakers.

    Ops data: a dashboard session or an API key with the ``ops:read`` scope,
    decided by Guardian like every /api operation; errors in the /api shape.
    """
    try:
        principal = ops_auth(request)
        if principal is None:
            raise AuthenticationFailed(
                "Sign in, or send an API key with the ops:read scope as "
                "'Authorization: Bearer lk-...'."
            )
        request.auth = principal
        require_scope(request, "ops:read")
    except LukhasError as exc:
        response = render_error(request, exc, envelope="ops")
        if exc.status == 401:
            response["WWW-Authenticate"] = 'Bearer realm="lukhas-ops"'
        return response
    return JsonResponse(selectors.plugins_overview())
