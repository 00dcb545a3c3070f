"""GET /v1/tools: the release's own tools as OpenAI tool definitions (a LUKHAS extension)."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from matriz import tooling
from matriz.facade.common import ListOut, caller

router = Router()


@router.get("/tools", response=ListOut, url_name="v1_tools", operation_id="listTools")
def list_tools(request: HttpRequest) -> dict:
    """The tools ``lukhas-matriz-1`` answers with, as ``tools=[...]`` entries for any client.

    Each carries ``x-lukhas-scope``, the scope a key needs for the tool to run
    (a key without it gets an answer saying so, never the data).
    """
    caller(request, "models:read")
    data = tooling.definitions()
    return {
        "object": "list",
        "data": data,
        "first_id": data[0]["function"]["name"] if data else None,
        "last_id": data[-1]["function"]["name"] if data else None,
        "has_more": False,
    }
