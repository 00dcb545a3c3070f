from django.urls import path

from jobs import views

urlpatterns = [
    path("", views.job_index, name="jobs"),
    path("<int:job_id>/", views.job_page, name="jobs-job"),
    path("<int:job_id>/progress", views.job_progress, name="jobs-progress"),
    path("<int:job_id>/decide", views.job_decide, name="jobs-decide"),
    path("<int:job_id>/cancel", views.job_cancel, name="jobs-cancel"),
]
