"""MATRIZ engine: the cognitive pipeline in pure Python (no Django).

The Django side (models, /v1 routers, Celery tasks) builds on these names;
docs/matriz-engine.md walks through them.
"""

from matriz.engine.breaker import (
    BreakerConfig,
    BreakerState,
    CallNotPermittedError,
    CircuitBreaker,
)
from matriz.engine.clock import Clock, ManualClock
from matriz.engine.embedders import (
    Embedder,
    EmbedderUnavailableError,
    HashingEmbedder,
    OnnxMiniLMEmbedder,
    project,
)
from matriz.engine.folding import (
    FoldPolicy,
    FoldReport,
    find_fold_groups,
    fold_index,
    fold_on_write,
    maybe_fold,
)
from matriz.engine.memory import (
    IndexNotFoundError,
    MemoryIndex,
    MemoryItem,
    MemoryStore,
    MemoryStoreError,
    RecallHit,
)
from matriz.engine.metrics import NullRecorder, PipelineRecorder, PrometheusRecorder
from matriz.engine.orchestrator import Orchestrator, QueryError, QueryResult, StageSpec
from matriz.engine.pipeline import build_default_pipeline
from matriz.engine.registry import (
    ENTRY_POINT_GROUPS,
    FactoryPath,
    PluginNotFoundError,
    PluginUnavailableError,
    Registry,
    auto_discover,
    default_registry,
    describe,
    register,
    resolve,
)
from matriz.engine.router import AdaptiveRouter
from matriz.engine.stages import (
    STAGE_ORDER,
    ChainLink,
    CognitiveNode,
    FunctionNode,
    LinkStatus,
    QueryContext,
    Stage,
    StageResult,
)

__all__ = [
    "ENTRY_POINT_GROUPS",
    "STAGE_ORDER",
    "AdaptiveRouter",
    "BreakerConfig",
    "BreakerState",
    "CallNotPermittedError",
    "ChainLink",
    "CircuitBreaker",
    "Clock",
    "CognitiveNode",
    "Embedder",
    "EmbedderUnavailableError",
    "FactoryPath",
    "FoldPolicy",
    "FoldReport",
    "FunctionNode",
    "HashingEmbedder",
    "IndexNotFoundError",
    "LinkStatus",
    "ManualClock",
    "MemoryIndex",
    "MemoryItem",
    "MemoryStore",
    "MemoryStoreError",
    "NullRecorder",
    "OnnxMiniLMEmbedder",
    "Orchestrator",
    "PipelineRecorder",
    "PluginNotFoundError",
    "PluginUnavailableError",
    "PrometheusRecorder",
    "QueryContext",
    "QueryError",
    "QueryResult",
    "RecallHit",
    "Registry",
    "Stage",
    "StageResult",
    "StageSpec",
    "auto_discover",
    "build_default_pipeline",
    "default_registry",
    "describe",
    "find_fold_groups",
    "fold_index",
    "fold_on_write",
    "maybe_fold",
    "project",
    "register",
    "resolve",
]
