"""Compare two OpenAPI documents and say which changes break clients.

Pure Python, no Django: ``diff_specs(base, candidate)`` takes two parsed
documents (3.0 or 3.1) and returns a :class:`SpecDiff` listing added,
removed and changed operations, each change marked breaking or not. The
``openapi_diff`` management command and ``make openapi-diff`` print it;
``docs/contract.md`` lists the rules and why each is one.

Operations are matched by method and path template with parameter names
blanked (``/v1/indexes/{id}`` and ``/v1/indexes/{index_id}`` are the same
operation: the wire does not see the name). Schemas are compared after
resolving local ``$ref`` s and merging ``allOf``; ``anyOf``/``oneOf`` unions
are compared variant by variant. Recursive schemas stop at the first pair of
references seen twice, so a cycle is walked once. A schema in
``components`` that no operation uses is not compared: only what a client
can reach matters.

Direction decides what breaks. What a client *sends* (bodies, parameters)
must still be accepted: a narrowed type, a removed enum value, a tighter
limit or a new required field breaks old clients. What a client *reads*
(response bodies) must still be what it was told: a removed field, a field
that may now be absent, a widened or changed type, a new enum value break
readers. The two judgement calls are in :class:`Rules`.

The package: ``model`` (what a diff reports), ``documents`` (reading and
``$ref``), ``schemas`` (variants of unions), ``walker`` (schema against schema)
and ``operations`` (matching operations, ``diff_specs``). No module imports
Django (tests/contract/test_openapi_diff.py checks).
"""

from lukhas_site.openapi_diff.documents import load_spec, render_spec
from lukhas_site.openapi_diff.model import (
    HTTP_METHODS,
    Change,
    Direction,
    Operation,
    OperationDiff,
    Rules,
    SpecDiff,
    SpecError,
)
from lukhas_site.openapi_diff.operations import diff_specs
from lukhas_site.openapi_diff.schemas import variants

__all__ = [
    "HTTP_METHODS",
    "Change",
    "Direction",
    "Operation",
    "OperationDiff",
    "Rules",
    "SpecDiff",
    "SpecError",
    "diff_specs",
    "load_spec",
    "render_spec",
    "variants",
]
