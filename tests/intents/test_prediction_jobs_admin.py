"""Batch prediction jobs in the admin: the CSV upload page, the job list and the job page (in-process)."""

from django.core.files.uploadedfile import SimpleUploadedFile

from intents.models import PredictionItem, PredictionJob

ADD = "/admin/intents/predictionjob/add/"


def test_an_uploaded_csv_becomes_a_job_and_the_browser_goes_to_its_live_page(trained_demo_bot, admin_client):
    """A valid CSV for a bot: a job with its items (ids kept), then the job page with the polled progress bar,
    the script that polls it and the download links."""
    upload = SimpleUploadedFile("texts.csv", b"id,text\n7,hello\n8,where is my order?\n", content_type="text/csv")
    response = admin_client.post(ADD, {"bot": trained_demo_bot.pk, "file": upload})
    job = PredictionJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/intents/predictionjob/{job.pk}/change/"
    assert (job.total_items, job.source, job.requested_by.username) == (2, "texts.csv", "admin")
    assert list(PredictionItem.objects.filter(job=job).values_list("external_id", "text")) == [
        ("7", "hello"), ("8", "where is my order?")]  # fmt: skip

    page = admin_client.get(response["Location"]).content.decode()
    assert f"data-progress-url='/api/bots/demo/prediction-jobs/{job.pk}' data-progress-done='finished_at'" in page
    assert "/static/admin/charla-progress.js" in page and "<span data-progress-field='status'>queued</span>" in page
    assert f"/api/bots/demo/prediction-jobs/{job.pk}/results?format=csv" in page
    listing = admin_client.get("/admin/intents/predictionjob/").content.decode()
    assert "<progress max='100' value='0' data-progress-field='progress'>" in listing


def test_a_bad_csv_is_shown_with_its_rows_and_nothing_is_stored(trained_demo_bot, admin_client):
    """Errors name the rows; the form is shown again; no job exists."""
    upload = SimpleUploadedFile("bad.csv", b"text\nhello\n\n \n", content_type="text/csv")
    page = admin_client.post(ADD, {"bot": trained_demo_bot.pk, "file": upload}).content.decode()
    assert "1 invalid rows; nothing was stored." in page and "row 4: empty text" in page
    assert not PredictionJob.objects.exists()


def test_a_bot_without_a_production_model_cannot_take_a_job(demo_bot, admin_client):
    """The form says why instead of queueing a job no worker could run."""
    upload = SimpleUploadedFile("texts.csv", b"hello\n", content_type="text/csv")
    page = admin_client.post(ADD, {"bot": demo_bot.pk, "file": upload}).content.decode()
    assert "has no production model yet" in page and not PredictionJob.objects.exists()


def test_the_cancel_action_stops_a_queued_job(trained_demo_bot, admin_client):
    """The list's action cancels jobs that are still queued or running."""
    admin_client.post(ADD, {"bot": trained_demo_bot.pk, "file": SimpleUploadedFile("t.csv", b"hi\n")})
    job = PredictionJob.objects.get()
    admin_client.post("/admin/intents/predictionjob/", {"action": "cancel", "_selected_action": [str(job.pk)]})
    job.refresh_from_db()
    assert job.status == "cancelled" and job.finished_at
