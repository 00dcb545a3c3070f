"""``/system/plugins``, mounted beside the probes in lukhas_site/urls.py."""

from django.urls import path

from matriz import views

urlpatterns = [
    path("", views.system_plugins, name="system-plugins"),
]
