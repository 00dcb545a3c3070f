"""The URL map of the whole site, in one place."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from accounts import views as accounts_views
from lukhas_site import views
from lukhas_site.api import api, v1

admin.site.site_header = "LUKHAS Ops administration"
admin.site.site_title = "LUKHAS Ops admin"
admin.site.index_title = "Tasks, agents, keys, policies and schedules"
admin.site.site_url = "/"

# Django's own refusals: JSON in the envelope under /v1 and /api, HTML on pages.
handler400 = views.bad_request
handler403 = views.permission_denied
handler404 = views.page_not_found
handler500 = views.server_error_view

urlpatterns = [
    # Probes and scraping: no session, no auth (metrics: optional token).
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics_view, name="metrics"),
    path("system/plugins", include("matriz.system_urls")),  # MATRIZ plugins, ops:read
    # The two API roots, each with a JSON 404 for anything it does not know.
    path("api/", api.urls),
    # csrf_exempt: a POST to an unknown route must get the JSON 404, not
    # Django's HTML CSRF page (no session is read or written there).
    re_path(r"^api/(?P<rest>.*)$", csrf_exempt(api.not_found_view), name="api-not-found"),
    path("v1/", v1.urls),
    re_path(r"^v1/(?P<rest>.*)$", csrf_exempt(v1.not_found_view), name="v1-not-found"),
    # Pages.
    path("accounts/", include("accounts.urls")),  # login, logout, the user's page, SSO
    path("admin/login/", accounts_views.admin_login, name="admin-login"),
    path("admin/", admin.site.urls),
    path("", views.overview, name="overview"),
    path("health/", views.health_page, name="health"),
    path("health/readiness", views.readiness_fragment, name="readiness-fragment"),
    path("docs/", views.api_docs, name="api-docs"),
    path("coordination/", include("coordination.urls")),
    path("soak/", include("soak.urls")),
    path("matriz/", include("matriz.urls")),
    path("jobs/", include("jobs.urls")),
    path("audits/", include("audits.urls")),  # codebase health reports
]
