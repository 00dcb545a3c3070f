"""Stored /v1/responses: what ``GET /v1/responses/{id}`` and ``previous_response_id`` read.

Imported at the bottom of matriz/models.py so the model belongs to the
``matriz`` app (one migrations folder for MATRIZ's tables).
"""

from __future__ import annotations

import secrets

from django.db import models

from lukhas_site.models import TimeStampedModel


def new_response_id() -> str:
    return f"resp_{secrets.token_hex(24)}"


class StoredResponse(TimeStampedModel):
    """One answered ``POST /v1/responses`` with ``store`` true (the default), owner-scoped."""

    public_id = models.CharField(max_length=64, unique=True, default=new_response_id)
    owner = models.CharField(max_length=100, help_text="tenant or key the response belongs to")
    model = models.CharField(max_length=256)
    # The conversation as chat messages ({"role", "content"}): the request's
    # context (previous responses included) followed by this answer.
    input_messages = models.JSONField(default=list, blank=True)
    output_text = models.TextField(blank=True)
    # The Responses API object as it was answered (what GET returns).
    body = models.JSONField(default=dict)

    class Meta:
        app_label = "matriz"
        verbose_name = "stored response"
        ordering = ["-created_at"]
        indexes = [
            # GET /v1/responses/{id} and previous_response_id: by owner and id.
            models.Index(fields=["owner", "public_id"], name="matriz_resp_owner_id_idx"),
        ]

    def __str__(self) -> str:
        return self.public_id
