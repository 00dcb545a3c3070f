from django.urls import path

from soak import views

urlpatterns = [
    path("", views.soak_index, name="soak"),
    path("start", views.soak_start, name="soak-start"),
    path("runs/<int:pk>/", views.run_detail, name="soak-run"),
    path("runs/<int:pk>/snapshot", views.snapshot_now, name="soak-snapshot"),
    path("runs/<int:pk>/abort", views.soak_abort, name="soak-abort"),
    path("releases/<str:name>/promote", views.release_promote, name="soak-promote"),
    path("releases/<str:name>/decide", views.release_decide, name="soak-decide"),
    path("releases/<str:name>/evidence", views.release_evidence, name="soak-evidence"),
]
