"""Memory indexes, their items, folds, dreams and stored /v1 responses: MATRIZ's tables.

The database is the record; each process holds the live items of the indexes
it queries as one numpy matrix (matriz/runtime.py). ``MemoryIndexModel.version``
is the bridge: every write to an index bumps it and stamps the rows it touched
with the new number, so a process that loaded version V catches up with one
query for the rows stamped above V. Deleted items therefore stay a while as
empty tombstones (text, metadata and vector wiped) — a hard delete would leave
nothing for that query to find.

Folding never loses an id: an absorbed item keeps its row with ``folded_into``
pointing at the survivor (flattened, so it is always a live item), and the
survivor's metadata lists ``folded_ids`` / ``folded_texts`` as the engine writes
them. Nothing in this module saves anything: services.py does.
"""

from __future__ import annotations

import secrets

import numpy as np
from django.db import models
from django.db.models import Q

from lukhas_site.models import TimeStampedModel


def new_index_id() -> str:
    return f"idx_{secrets.token_hex(12)}"


def new_item_id() -> str:
    return f"mem_{secrets.token_hex(12)}"


def new_dream_id() -> str:
    return f"dream_{secrets.token_hex(12)}"


# Vectors are stored as little-endian float32, whatever the machine.
VECTOR_DTYPE = np.dtype("<f4")


class MemoryIndexModel(TimeStampedModel):
    """A named collection of memories of one owner (a tenant or user key string).

    ``owner`` is a plain key, not a foreign key to Guardian's tenants: MATRIZ
    stays usable without Guardian, and the façade decides what the key is.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_index_id, editable=False)
    owner = models.CharField(max_length=100, help_text="tenant or owner key the index belongs to")
    name = models.CharField(max_length=64)
    dimension = models.PositiveIntegerField(default=384)
    embedder = models.CharField(max_length=40, default="hashing")
    metadata = models.JSONField(default=dict, blank=True)
    item_count = models.PositiveIntegerField(
        default=0, help_text="live items (not folded, not deleted)"
    )
    version = models.BigIntegerField(default=0, help_text="bumped by every write")
    # Tombstones stamped at or below this version were purged: a process that
    # loaded an older version cannot catch up by delta and reloads in full.
    purged_version = models.BigIntegerField(default=0)
    writes_since_fold = models.PositiveIntegerField(default=0)
    items_after_last_fold = models.PositiveIntegerField(null=True, blank=True)
    last_folded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "memory index"
        verbose_name_plural = "memory indexes"
        ordering = ["owner", "name"]
        constraints = [
            # Also the index behind run_query's one version check per query
            # (owner = ? AND name IN (...)).
            models.UniqueConstraint(fields=["owner", "name"], name="matriz_index_owner_name_uniq"),
            models.CheckConstraint(condition=~Q(name=""), name="matriz_index_name_not_empty"),
            models.CheckConstraint(condition=~Q(owner=""), name="matriz_index_owner_not_empty"),
            models.CheckConstraint(condition=Q(version__gte=0), name="matriz_index_version_gte_0"),
            models.CheckConstraint(
                condition=Q(purged_version__lte=models.F("version")),
                name="matriz_index_purged_lte_version",
            ),
            models.CheckConstraint(condition=Q(dimension__gte=8), name="matriz_index_dim_gte_8"),
        ]
        indexes = [
            # Beat's folding round: indexes written to since their last fold.
            models.Index(
                fields=["writes_since_fold"],
                condition=Q(writes_since_fold__gt=0),
                name="matriz_index_fold_due_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def key(self) -> str:
        """How the runtime, metrics and spans name the index: ``owner/name``."""
        return f"{self.owner}/{self.name}"


class MemoryItemModel(TimeStampedModel):
    """One memory: text, metadata and its embedding (L2-normalised float32 bytes)."""

    index = models.ForeignKey(MemoryIndexModel, on_delete=models.CASCADE, related_name="items")
    public_id = models.CharField(max_length=64, default=new_item_id)
    text = models.TextField()
    metadata = models.JSONField(default=dict, blank=True)
    vector = models.BinaryField(help_text="float32 little-endian, index.dimension values")
    version = models.BigIntegerField(help_text="index version of the last write to this row")
    folded_into = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="absorbed"
    )
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "memory item"
        constraints = [
            models.UniqueConstraint(
                fields=["index", "public_id"], name="matriz_item_index_id_uniq"
            ),
            models.CheckConstraint(condition=~Q(public_id=""), name="matriz_item_id_not_empty"),
            models.CheckConstraint(
                condition=Q(deleted_at__isnull=True) | Q(folded_into__isnull=True),
                name="matriz_item_tombstone_not_folded",
            ),
        ]
        indexes = [
            # The runtime's catch-up: rows of an index stamped above the version it holds.
            models.Index(fields=["index", "version"], name="matriz_item_delta_idx"),
            # A full load: live rows of an index in insertion order.
            models.Index(
                fields=["index", "id"],
                condition=Q(folded_into__isnull=True, deleted_at__isnull=True),
                name="matriz_item_live_idx",
            ),
            # The tombstone purge of the folding task.
            models.Index(
                fields=["index", "deleted_at"],
                condition=Q(deleted_at__isnull=False),
                name="matriz_item_tombstone_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def is_live(self) -> bool:
        return self.deleted_at is None and self.folded_into_id is None

    def vector_array(self) -> np.ndarray:
        return np.frombuffer(bytes(self.vector), dtype=VECTOR_DTYPE)


class FoldTrigger(models.TextChoices):
    SCHEDULE = "schedule", "beat's round"
    WRITES = "writes", "every N writes"
    SIZE = "size", "index above its size limit"
    MANUAL = "manual", "asked for (admin, API)"


class FoldRecord(TimeStampedModel):
    """One folding run over an index: what it absorbed into what, and how long it took."""

    index = models.ForeignKey(MemoryIndexModel, on_delete=models.CASCADE, related_name="folds")
    trigger = models.CharField(max_length=16, choices=FoldTrigger.choices)
    threshold = models.FloatField()
    before_count = models.PositiveIntegerField()
    after_count = models.PositiveIntegerField()
    groups = models.PositiveIntegerField(default=0)
    # {absorbed public id: surviving public id} for the items this run absorbed.
    absorbed = models.JSONField(default=dict, blank=True)
    tombstones_purged = models.PositiveIntegerField(default=0)
    version = models.BigIntegerField(help_text="index version after the fold")
    duration_ms = models.FloatField()

    class Meta:
        verbose_name = "fold record"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(after_count__lte=models.F("before_count")),
                name="matriz_fold_never_grows",
            ),
        ]
        indexes = [
            # An index's last folds (admin, page).
            models.Index(fields=["index", "-created_at"], name="matriz_fold_index_time_idx"),
        ]

    def __str__(self) -> str:
        return f"fold of {self.index_id}: {self.before_count} -> {self.after_count}"

    @property
    def absorbed_count(self) -> int:
        return len(self.absorbed)


class DreamStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"


DREAM_FINISHED = (DreamStatus.SUCCEEDED, DreamStatus.FAILED)


class Dream(TimeStampedModel):
    """A background recombination of an index's memories into a narrative.

    Submitted and polled through /v1/dreams; it runs as a job of the
    ``dream`` flow (``job``), whose step fills in ``narrative``, ``chain`` and
    ``associations``. The jobs machinery claims, heartbeats and resumes the
    step; ``status`` mirrors the job's.
    """

    public_id = models.CharField(max_length=40, unique=True, default=new_dream_id, editable=False)
    owner = models.CharField(max_length=100)
    index = models.ForeignKey(
        MemoryIndexModel, on_delete=models.SET_NULL, null=True, blank=True, related_name="dreams"
    )
    index_name = models.CharField(max_length=64, help_text="kept if the index is deleted")
    seed = models.TextField()
    params = models.JSONField(default=dict, blank=True)
    status = models.CharField(
        max_length=16, choices=DreamStatus.choices, default=DreamStatus.QUEUED
    )
    narrative = models.TextField(blank=True)
    # The pipeline's reasoning chain: six ChainLink dicts, as /v1 answers carry.
    chain = models.JSONField(default=list, blank=True)
    # The dream's own steps: which memory led to which by association.
    associations = models.JSONField(default=list, blank=True)
    memory_ids = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="runs started")
    # The job that runs it (its steps, log and attempts); null only for dreams
    # submitted before dreams ran as jobs, or once an operator deleted the job.
    job = models.OneToOneField(
        "jobs.Job", on_delete=models.SET_NULL, null=True, blank=True, related_name="dream"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=DreamStatus.values), name="matriz_dream_status_valid"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status__in=DREAM_FINISHED, finished_at__isnull=False)
                    | (~Q(status__in=DREAM_FINISHED) & Q(finished_at__isnull=True))
                ),
                name="matriz_dream_finished_iff_done",
            ),
        ]
        indexes = [
            # An owner's dreams, newest first (/v1/dreams list).
            models.Index(fields=["owner", "-created_at"], name="matriz_dream_owner_time_idx"),
            # The admin's status filter.
            models.Index(fields=["status", "started_at"], name="matriz_dream_status_idx"),
        ]

    def __str__(self) -> str:
        return self.public_id

    @property
    def finished(self) -> bool:
        return self.status in DREAM_FINISHED


def new_response_id() -> str:
    return f"resp_{secrets.token_hex(24)}"


class StoredResponse(TimeStampedModel):
    """One answered ``POST /v1/responses`` with ``store`` true (the default), owner-scoped.

    What ``GET /v1/responses/{id}`` and ``previous_response_id`` read.
    """

    public_id = models.CharField(max_length=64, unique=True, default=new_response_id)
    owner = models.CharField(max_length=100, help_text="tenant or key the response belongs to")
    model = models.CharField(max_length=256)
    # The conversation as chat messages ({"role", "content"}): the request's
    # context (previous responses included) followed by this answer.
    input_messages = models.JSONField(default=list, blank=True)
    output_text = models.TextField(blank=True)
    # The Responses API object as it was answered (what GET returns).
    body = models.JSONField(default=dict)
    # This request's own input as Responses items with ids (GET …/input_items).
    input_items = models.JSONField(default=list, blank=True)
    # background: true — the request as sent, who sent it ({"kind", "id"}: the worker
    # answers under the same key's scopes) and the job that answers it.
    request = models.JSONField(default=dict, blank=True)
    principal_ref = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey(
        "jobs.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "stored response"
        ordering = ["-created_at"]
        indexes = [
            # GET /v1/responses/{id} and previous_response_id: by owner and id.
            models.Index(fields=["owner", "public_id"], name="matriz_resp_owner_id_idx"),
        ]

    def __str__(self) -> str:
        return self.public_id


class StoredChatCompletion(TimeStampedModel):
    """One answered ``POST /v1/chat/completions`` with ``store: true``, owner-scoped.

    What ``GET /v1/chat/completions[/{id}[/messages]]`` read, as OpenAI's
    stored completions: the answer as it was returned, the request's
    messages (with ids), and metadata the owner may update.
    """

    public_id = models.CharField(max_length=64, unique=True)
    owner = models.CharField(max_length=100, help_text="tenant or key the completion belongs to")
    model = models.CharField(max_length=256)
    metadata = models.JSONField(default=dict, blank=True)
    # The chat.completion object as it was answered (what GET returns).
    body = models.JSONField(default=dict)
    # The request's messages, each with an id ("<completion id>-<n>"), for …/messages.
    messages = models.JSONField(default=list, blank=True)

    class Meta:
        verbose_name = "stored chat completion"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "public_id"], name="matriz_chat_owner_id_idx"),
        ]

    def __str__(self) -> str:
        return self.public_id
