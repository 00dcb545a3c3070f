"""ASGI entry point (uvicorn): ``uvicorn lukhas_site.asgi:application``."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lukhas_site.settings")
# One BLAS thread per web process: MATRIZ recall gains nothing from a second
# one, and under load threads of several workers fight over the same cores
# (p95 of the pipeline went from 2 ms to 10 ms in docs/benchmarks.md).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

application = get_asgi_application()
