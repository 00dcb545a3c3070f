"""Models of the site itself (not of any one app)."""

from __future__ import annotations

from django.db import models


class TimeStampedModel(models.Model):
    """The one place timestamps come from, for every app's models."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class DemoDataLoad(TimeStampedModel):
    """Which demo loaders have run, so `make run` loads each one once."""

    name = models.CharField(max_length=100, unique=True)
    summary = models.TextField(blank=True)

    class Meta:
        verbose_name = "demo data load"

    def __str__(self) -> str:
        return self.name
