"""GET /v1/models and /v1/models/{id}."""

from __future__ import annotations

from typing import Literal

from django.http import HttpRequest
from ninja import Router

from matriz.facade import catalog
from matriz.facade.common import OutModel, caller

router = Router()


class ModelOut(OutModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelListOut(OutModel):
    object: Literal["list"] = "list"
    data: list[ModelOut]


@router.get("/models", response=ModelListOut, url_name="v1_models", operation_id="listModels")
def list_models(request: HttpRequest) -> dict:
    """The models of this server: MATRIZ, the echo model, the embedder and upstream models."""
    caller(request, "models:read")
    return {"object": "list", "data": [card.to_dict() for card in catalog.all_models()]}


@router.get(
    "/models/{model_id}", response=ModelOut, url_name="v1_model", operation_id="retrieveModel"
)
def retrieve_model(request: HttpRequest, model_id: str) -> dict:
    caller(request, "models:read")
    listed = {card.id: card for card in catalog.all_models()}  # an alias under its own name
    return (listed.get(model_id) or catalog.model_get(model_id, param="model")).to_dict()
