from django.urls import path

from coordination import views

urlpatterns = [
    path("", views.board, name="coordination"),
    path("tasks/<int:pk>/", views.task_detail, name="coordination-task"),
    path("tasks/<int:pk>/move", views.task_move, name="coordination-task-move"),
    path("import/", views.plan_upload, name="coordination-import"),
    path("exports/<str:name>", views.export_download, name="coordination-export"),
]
