"""The process-local MATRIZ runtime: one pipeline and the indexes this process queries.

What the /v1 façade calls::

    from matriz.runtime import run_query, arun_query

    result = run_query(text="why did the canary stop?", indexes=["plans"], owner="acme")
    result.to_dict()   # status, answer, error, memories, chain, trace_id

**Indexes.** Each process holds the live items of an index as one
``MemoryIndex`` (a float32 matrix), loaded from the database the first time a
query names it. Before every query one SELECT reads the named indexes'
``version`` stamps (the same query resolves ``owner/name`` to rows, so it
costs nothing extra); when a stamp moved — another process or this one wrote —
the rows stamped above the version held here are applied as a delta. A full
reload happens only on first use, when the index was re-created (its public id
changed), when its version went backwards (a restored database), or when the
tombstones the delta would need were purged. The stamp is read from the
database rather than a cache key: it is the record, and a crash between a
commit and a cache write could not leave it stale. Loading holds a per-index
lock, so concurrent queries of a stale index load it once.

**Pipeline.** Built once per process from the plugin registry
(``LUKHAS_PLUGIN_DISCOVERY=auto`` fills it from entry points in
``MatrizConfig.ready``): every ``node:*`` plugin that is an instance joins its
stage; one registered as a class (``class_as_factory``) is built here when
its constructor asks only for what the runtime has (a ``store``); anything
else is listed as unbuilt with the reason (/system/plugins shows it). Stage
budgets, critical stages and breakers come from settings.

The memory node recalls across every index the query names: it receives them
as one comma-joined ``owner/name`` string and the runtime's store view merges
the hits by score.
"""

from matriz.runtime.core import (
    MatrizRuntime,
    QueryPlan,
    arun_query,
    get_runtime,
    reset_runtime,
    run_query,
)
from matriz.runtime.embedders import (
    EMBEDDERS,
    embed_texts,
    embedder_for,
    native_dimension,
    normalised,
)
from matriz.runtime.indexes import LoadedIndex, RuntimeStoreView, stored_matrix
from matriz.runtime.pipeline import BUILTIN_PLUGINS, NodeBuild, discover_plugins
from matriz.runtime.validation import (
    check_text,
    check_top_k,
    index_names,
    validate_filters,
)

__all__ = [
    "BUILTIN_PLUGINS",
    "EMBEDDERS",
    "LoadedIndex",
    "MatrizRuntime",
    "NodeBuild",
    "QueryPlan",
    "RuntimeStoreView",
    "arun_query",
    "check_text",
    "check_top_k",
    "discover_plugins",
    "embed_texts",
    "embedder_for",
    "get_runtime",
    "index_names",
    "native_dimension",
    "normalised",
    "reset_runtime",
    "run_query",
    "stored_matrix",
    "validate_filters",
]
