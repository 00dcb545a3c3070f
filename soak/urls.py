from django.urls import path

from soak import views

urlpatterns = [
    path("", views.soak_index, name="soak"),
]
