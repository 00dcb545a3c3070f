"""Writes of MATRIZ: the only code that changes indexes, items, folds and dreams.

The /v1 façade, the admin, the page, the tasks and the demo loader all come
through here, so the rules hold whoever asks:

- every write to an index runs under a lock on its row (``SELECT ... FOR
  UPDATE``; SQLite's IMMEDIATE transactions serialise writers anyway), bumps
  ``version`` once and stamps each row it touched with the new number — what
  lets every process catch up by delta (matriz/runtime.py);
- a write that changes nothing (the same text and metadata again) bumps nothing;
- deleting an item wipes its text, metadata and vector and keeps an empty
  tombstone until the folding round purges it (LUKHAS_MATRIZ_TOMBSTONE_TTL_SECONDS);
  deleting a survivor deletes what was folded into it, and deleting an absorbed
  id removes it (and its text) from its survivor's ``folded_ids``/``folded_texts``;
- folding keeps every id: absorbed rows stay, with ``folded_into`` pointing at
  their (live) survivor, and the FoldRecord lists what went where;
- a dream runs as a job of the ``dream`` flow (matriz/flows.py, docs/jobs.md):
  the jobs machinery claims its step atomically, heartbeats it and resumes it
  once when its worker dies; the dream row mirrors the job's status;
- tasks are published by name (``current_app.send_task``) after commit:
  services never import the tasks module.

Refusals raise the site's exceptions (InvalidRequest 400, NotFound 404,
Conflict 409) with a message that says what to fix.
"""

from matriz.services.dreams import (
    DREAM_FLOW,
    DreamFailed,
    DreamOutcome,
    dream_execute,
    dream_mirror_job_end,
    dream_submit,
)
from matriz.services.folding import fold_due, fold_index, fold_lock_key
from matriz.services.indexes import index_create, index_delete
from matriz.services.items import ItemsWritten, items_add, items_delete
from matriz.services.responses import (
    BACKGROUND_FLOW,
    chat_completion_delete,
    chat_completion_store,
    chat_completion_update,
    response_cancel,
    response_delete,
    response_finish,
    response_mirror_job_end,
    response_queue,
    response_status_set,
    response_store,
)

__all__ = [
    "BACKGROUND_FLOW",
    "DREAM_FLOW",
    "DreamFailed",
    "DreamOutcome",
    "ItemsWritten",
    "chat_completion_delete",
    "chat_completion_store",
    "chat_completion_update",
    "dream_execute",
    "dream_mirror_job_end",
    "dream_submit",
    "fold_due",
    "fold_index",
    "fold_lock_key",
    "index_create",
    "index_delete",
    "items_add",
    "items_delete",
    "response_cancel",
    "response_delete",
    "response_finish",
    "response_mirror_job_end",
    "response_queue",
    "response_status_set",
    "response_store",
]
