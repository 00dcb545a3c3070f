from django.urls import path

from coordination import views

urlpatterns = [
    path("", views.board, name="coordination"),
]
