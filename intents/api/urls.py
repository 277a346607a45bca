from django.urls import path

from .prediction_jobs import (
    PredictionJobCancelView,
    PredictionJobDetailView,
    PredictionJobListView,
    PredictionJobResultsView,
)

urlpatterns = [
    path("bots/<slug:slug>/prediction-jobs", PredictionJobListView.as_view(), name="prediction-jobs"),
    path("bots/<slug:slug>/prediction-jobs/<uuid:job_id>", PredictionJobDetailView.as_view(), name="prediction-job"),
    path("bots/<slug:slug>/prediction-jobs/<uuid:job_id>/cancel", PredictionJobCancelView.as_view(),
         name="prediction-job-cancel"),
    path("bots/<slug:slug>/prediction-jobs/<uuid:job_id>/results", PredictionJobResultsView.as_view(),
         name="prediction-job-results"),
]  # fmt: skip
