"""The models /v1 offers: MATRIZ's own, the echo model, the embedder and upstream ones."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from lukhas_site.errors import NotFound

MATRIZ_MODEL = "lukhas-matriz-1"
ECHO_MODEL = "matriz-echo"
EMBEDDING_MODEL = "lukhas-embed-1"
# When the façade's models were first offered (a fixed date: `created` must not move).
CREATED = 1_767_225_600  # 2026-01-01T00:00:00Z


@dataclass(frozen=True, slots=True)
class ModelCard:
    id: str
    kind: str  # "chat" | "embedding"
    owned_by: str = "lukhas"
    created: int = CREATED

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
        }


LOCAL_MODELS = (
    ModelCard(MATRIZ_MODEL, "chat"),
    ModelCard(ECHO_MODEL, "chat"),
    ModelCard(EMBEDDING_MODEL, "embedding"),
)


def upstream_models() -> list[ModelCard]:
    """Upstream model names the façade maps to (offered under their own name too)."""
    if not settings.FACADE_UPSTREAM_BASE_URL:
        return []
    local = {card.id for card in LOCAL_MODELS}
    names = sorted(set(settings.FACADE_UPSTREAM_MODEL_MAP.values()) - local)
    return [ModelCard(name, "chat", owned_by="upstream") for name in names]


def all_models() -> list[ModelCard]:
    return [*LOCAL_MODELS, *upstream_models()]


def model_get(model_id: str, *, kind: str | None = None, param: str | None = "model") -> ModelCard:
    for card in all_models():
        if card.id == model_id and (kind is None or card.kind == kind):
            return card
    wanted = "embedding model" if kind == "embedding" else "model"
    raise NotFound(
        f"The {wanted} '{model_id}' does not exist or you do not have access to it. "
        "GET /v1/models lists the models of this server.",
        code="model_not_found",
        param=param,
    )
