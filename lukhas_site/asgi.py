"""ASGI entry point (uvicorn): ``uvicorn lukhas_site.asgi:application``.

Django's handler (its requests exempt the probes from the host check) sits
behind :class:`lukhas_site.edge.BodyLimitGuard`, which refuses oversized or
stalled bodies before Django reads them.
"""

import os

import django
from django.conf import settings

from lukhas_site.edge import BodyLimitGuard, SiteASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lukhas_site.settings")
# One BLAS thread per web process: MATRIZ recall gains nothing from a second
# one, and under load threads of several workers fight over the same cores
# (p95 of the pipeline went from 2 ms to 10 ms in docs/benchmarks.md).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

# What django.core.asgi.get_asgi_application() does, with our request class.
django.setup(set_prefix=False)
application = BodyLimitGuard(
    SiteASGIHandler(),
    max_body_bytes=settings.MAX_BODY_BYTES,
    body_timeout=settings.BODY_TIMEOUT,
)
