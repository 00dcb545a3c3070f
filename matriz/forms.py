"""Forms of the MATRIZ page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.conf import settings

from matriz.models import MemoryIndexModel


class TestQueryForm(forms.Form):
    """Run one query through the pipeline against a chosen index (operators' smoke test)."""

    index = forms.TypedChoiceField(coerce=int, label="Index")
    text = forms.CharField(
        label="Question",
        max_length=2000,
        widget=forms.TextInput(attrs={"size": 60, "placeholder": "why did the canary stop?"}),
    )
    top_k = forms.IntegerField(label="Top K", min_value=1, max_value=50)

    def __init__(self, *args: Any, indexes: Sequence[MemoryIndexModel], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"top_k": settings.MATRIZ_TOP_K})
        super().__init__(*args, **kwargs)
        # Choices from the list the page already fetched: validating costs no query.
        self.indexes = {index.pk: index for index in indexes}
        self.fields["index"].choices = [
            (index.pk, f"{index.key} ({index.item_count} memories)") for index in indexes
        ]

    @property
    def chosen_index(self) -> MemoryIndexModel:
        return self.indexes[self.cleaned_data["index"]]
