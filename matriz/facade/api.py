"""The /v1 façade's router: every OpenAI-compatible operation, assembled in one place.

Added to the ``v1`` root by the last line of lukhas_site/api.py. Importing
this module also registers the façade's token estimator with Guardian's rate
limiter (the v1 router is loaded before the first request is served).
"""

from __future__ import annotations

from ninja import Router

from guardian.ratelimit import register_token_estimator
from matriz.facade import (
    chat,
    dreams,
    embeddings,
    indexes,
    models_api,
    responses,
    stored_chat,
    tools_api,
)
from matriz.facade.estimate import estimate_request_tokens

register_token_estimator("/v1/", estimate_request_tokens)

router = Router()
router.add_router("", models_api.router)
router.add_router("", chat.router)
router.add_router("", stored_chat.router)
router.add_router("", responses.router)
router.add_router("", embeddings.router)
router.add_router("", indexes.router)
router.add_router("", dreams.router)
router.add_router("", tools_api.router)
