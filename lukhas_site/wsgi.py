"""WSGI entry point, for servers that do not speak ASGI.

Its requests exempt the probes from the host check (lukhas_site/edge.py);
bodies over the limit get the 413 from ErrorEnvelopeMiddleware.
"""

import os

import django

from lukhas_site.edge import SiteWSGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lukhas_site.settings")

# What django.core.wsgi.get_wsgi_application() does, with our request class.
django.setup(set_prefix=False)
application = SiteWSGIHandler()
