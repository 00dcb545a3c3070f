"""The models /v1 offers: MATRIZ's own, the echo model, the embedder and upstream ones."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

from lukhas_site.errors import NotFound
from matriz import runtime

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
        card: dict[str, object] = {
            "id": self.id,
            "object": "model",
            "created": self.created,
            "owned_by": self.owned_by,
        }
        if self.kind == "embedding":
            # A LUKHAS extension: which embedder answers and its vectors' size, so a
            # client sees when the site's embedder (and so its vector space) changes.
            card["lukhas"] = {
                "embedder": settings.MATRIZ_EMBEDDER,
                "dimensions": runtime.native_dimension(),
            }
        return card


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


def real_models() -> list[ModelCard]:
    """The models that answer (local and upstream), without the aliases."""
    return [*LOCAL_MODELS, *upstream_models()]


def aliases() -> dict[str, ModelCard]:
    """``LUKHAS_MODEL_ALIASES`` (alias → the card of the model that answers it).

    An alias whose target is not a model of this server is left out (and
    reported by the ``lukhas.W201`` system check): it must never answer with
    some other model.
    """
    cards = {card.id: card for card in real_models()}
    return {
        alias: cards[target]
        for alias, target in settings.FACADE_MODEL_ALIASES.items()
        if target in cards and alias not in cards
    }


def all_models() -> list[ModelCard]:
    """What /v1/models lists: every real model, then each alias under its own name."""
    listed = [
        ModelCard(alias, card.kind, owned_by=card.owned_by) for alias, card in aliases().items()
    ]
    return [*real_models(), *listed]


def canonical(model_id: str) -> str:
    """The model that answers ``model_id``: the alias's target, else the name itself."""
    card = aliases().get(model_id)
    return card.id if card else model_id


def model_get(model_id: str, *, kind: str | None = None, param: str | None = "model") -> ModelCard:
    """The card of the model that answers ``model_id`` (an alias resolves to its target)."""
    for card in real_models():
        if card.id == model_id and (kind is None or card.kind == kind):
            return card
    card = aliases().get(model_id)
    if card is not None and (kind is None or card.kind == kind):
        return card
    wanted = "embedding model" if kind == "embedding" else "model"
    raise NotFound(
        f"The {wanted} '{model_id}' does not exist or you do not have access to it. "
        "GET /v1/models lists the models of this server.",
        code="model_not_found",
        param=param,
    )
