"""Forms of the coordination pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings

from coordination.plan_parser import ParsedPlan
from coordination.services.plan_import import (
    PlanImportError,
    PlanTooLarge,
    parse_upload,
    plan_size_check,
)


class PlanUploadForm(forms.Form):
    """A markdown plan to import; a plan the parser cannot read is an error on ``file``."""

    file = forms.FileField(
        label="Markdown plan",
        help_text="A .md plan as the team writes it (see docs/plan-format.md).",
    )
    dry_run = forms.BooleanField(
        required=False, label="Dry run: show what would change, write nothing"
    )
    prefer_plan = forms.BooleanField(
        required=False,
        label="On a conflict, take the plan's value (a field changed on the board and in "
        "the plan since the last import); by default the board's value stays",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        upload = cleaned.get("file")
        if upload is None:
            return cleaned
        limit = settings.COORDINATION_UPLOAD_MAX_BYTES
        try:
            plan_size_check(upload.size)
            data = upload.read(limit + 1)
            plan_size_check(len(data))
        except PlanTooLarge as exc:
            self.add_error("file", exc.message)
            return cleaned
        try:
            cleaned["plan"] = parse_upload(data, source_name=upload.name)
        except PlanImportError as exc:
            self.add_error("file", f"{upload.name}: {exc.message}. Fix that line and upload again.")
            return cleaned
        cleaned["data"] = data
        cleaned["content"] = data.decode("utf-8", "replace")
        return cleaned

    @property
    def plan(self) -> ParsedPlan:
        return self.cleaned_data["plan"]
