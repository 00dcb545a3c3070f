"""A test-only URL map: the site plus a streamed, an async-streamed and a failing endpoint.

The /v1 façade (a later issue) owns the real streaming operations; these
stand in for them so Guardian's middleware can be shown to put the rate-limit
headers before a stream's first byte and to record and replay streams whole.
"""

from __future__ import annotations

import asyncio

from django.http import HttpResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from lukhas_site.urls import urlpatterns as site_urlpatterns

produced: list[str] = []
calls: list[str] = []


@csrf_exempt
def stream(request):
    calls.append("stream")

    def body():
        produced.append("first chunk")
        yield b"data: one\n\n"
        yield f"data: call {len(calls)}\n\n".encode()
        yield b"data: [DONE]\n\n"

    return StreamingHttpResponse(body(), content_type="text/event-stream")


@csrf_exempt
async def astream(request):
    calls.append("astream")

    async def body():
        for word in ("alpha", "beta", f"call {len(calls)}"):
            await asyncio.sleep(0)
            yield f"data: {word}\n\n".encode()

    return StreamingHttpResponse(body(), content_type="text/event-stream")


@csrf_exempt
def charged(request):
    """Stands in for a façade operation: it settles what it used (50 tokens)."""
    from guardian import auth, ratelimit

    calls.append("charged")
    ratelimit.charge_tokens(getattr(request, auth.PRINCIPAL_ATTR), 50)
    return HttpResponse(b"{}", content_type="application/json")


@csrf_exempt
def broken(request):
    calls.append("broken")
    return HttpResponse(
        b'{"error": "upstream failed"}', status=502, content_type="application/json"
    )


urlpatterns = [
    path("v1/_test/stream", stream),
    path("v1/_test/astream", astream),
    path("v1/_test/broken", broken),
    path("v1/_test/charged", charged),
    *site_urlpatterns,
]
