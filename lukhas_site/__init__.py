"""LUKHAS Ops site package. The Celery app is imported so shared tasks bind to it."""

from lukhas_site.celery import app as celery_app

__all__ = ["celery_app"]
