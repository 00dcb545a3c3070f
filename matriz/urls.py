from django.urls import path

from matriz import views

urlpatterns = [
    path("", views.matriz_index, name="matriz"),
]
