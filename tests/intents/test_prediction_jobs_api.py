"""The batch prediction API's checks and the claim protocol, in-process against the real PostgreSQL.

No worker runs here: these tests are about what is stored (or not) and who may write; tests/intents/
test_prediction_jobs.py runs jobs through a live worker.
"""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from intents.classifier import Prediction
from intents.models import PredictionItem, PredictionJob

URL = "/api/bots/demo/prediction-jobs"


@pytest.fixture
def staff_api(db) -> APIClient:
    client = APIClient()
    token = Token.objects.create(user=User.objects.create_user("staff", is_staff=True))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def nothing_stored() -> bool:
    return not PredictionJob.objects.exists() and not PredictionItem.objects.exists()


def test_a_job_is_registered_with_its_items_in_order_and_answers_202(trained_demo_bot, staff_api):
    """202, a Location, the status body; the items are stored in submission order with their ids."""
    response = staff_api.post(URL, [{"text": "hola", "id": "x1"}, "bye"], format="json")
    assert response.status_code == 202
    body = response.json()
    assert response["Location"] == body["status_url"] == f"http://testserver{URL}/{body['id']}"
    assert (body["status"], body["total_items"], body["progress"], body["bot"]) == ("queued", 2, 0.0, "demo")
    items = PredictionItem.objects.filter(job_id=body["id"]).order_by("position")
    assert [(i.position, i.text, i.external_id, i.written_at) for i in items] == [
        (0, "hola", "x1", None),
        (1, "bye", "", None),
    ]
    assert staff_api.get(body["status_url"]).json()["status"] == "queued"


@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        (b"[\"hi\",", "application/json", 400, "JSON parse error"),
        (b"[]", "application/json", 400, "No texts"),
        (json.dumps(["ok", "", "x" * 2001]).encode(), "application/json", 400, "2 invalid rows"),
        (b"\xff\xfe\x00h", "text/csv", 400, "not UTF-8"),
        (b"", "text/csv", 400, "body is empty"),
        (b"<xml/>", "application/xml", 415, "Unsupported media type"),
    ],
)  # fmt: skip
def test_bad_input_gets_a_json_error_and_stores_nothing(
    trained_demo_bot, staff_api, body, content_type, status, detail
):
    """Malformed JSON, an empty list, bad rows, a CSV that is not UTF-8 or empty, an unknown media type."""
    response = staff_api.generic("POST", URL, body, content_type=content_type)
    assert response.status_code == status and detail in response.json()["message"]
    assert nothing_stored()


def test_row_errors_name_each_row(trained_demo_bot, staff_api):
    """Each invalid row is listed with its 1-based row number and reason."""
    response = staff_api.post(URL, ["ok", " ", "fine", ""], format="json")
    assert response.json()["errors"] == [{"row": 2, "error": "empty text"}, {"row": 4, "error": "empty text"}]


def test_too_many_rows_or_bytes_is_413_and_stores_nothing(trained_demo_bot, staff_api, settings):
    """Over CHARLA_BATCH_MAX_ITEMS texts, or a body over CHARLA_BATCH_MAX_BYTES: 413 with the limit named."""
    settings.CHARLA_BATCH_MAX_ITEMS = 3
    response = staff_api.post(URL, "a\nb\nc\nd\n", content_type="text/csv")
    assert response.status_code == 413 and "at most 3" in response.json()["message"]
    settings.CHARLA_BATCH_MAX_BYTES = 10
    response = staff_api.post(URL, ["a long enough body"], format="json")
    assert response.status_code == 413 and "over 10 bytes" in response.json()["message"]
    assert nothing_stored()


def test_a_multipart_upload_without_its_file_field_is_refused(trained_demo_bot, staff_api):
    """A multipart body must carry the CSV in the field `file`."""
    response = staff_api.post(URL, {"other": "x"}, format="multipart")
    assert response.status_code == 400 and "`file`" in response.json()["message"]


def test_unknown_bot_unknown_job_and_a_bot_without_model_are_clear_errors(demo_bot, staff_api):
    """404 for a bot or job that does not exist (or is another bot's); 409 while the bot has no production model."""
    unknown = staff_api.post("/api/bots/nope/prediction-jobs", ["hi"], format="json")
    assert unknown.status_code == 404 and unknown.json()["message"] == "No bot 'nope'."
    response = staff_api.post(URL, ["hi"], format="json")
    assert response.status_code == 409 and "no production model" in response.json()["message"]
    missing = staff_api.get(f"{URL}/6f1c1c3e-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and "has no prediction job" in missing.json()["message"]
    assert nothing_stored()


def test_only_staff_may_use_the_api(trained_demo_bot, db):
    """No credentials or a wrong token: 401; a valid token of a non-staff user: 403. Nothing stored."""
    client = APIClient()
    assert client.post(URL, ["hi"], format="json").status_code == 401
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.post(URL, ["hi"], format="json").status_code == 401
    token = Token.objects.create(user=User.objects.create_user("visitor"))
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.post(URL, ["hi"], format="json")
    assert response.status_code == 403 and "message" in response.json()
    assert nothing_stored()


def test_cancel_stops_claims_and_keeps_written_results(trained_demo_bot, staff_api):
    """A cancelled job is finished: no worker claims its items any more; cancelling again changes nothing."""
    from intents.services import prediction_job_work

    job = staff_api.post(URL, ["hi", "bye"], format="json").json()
    cancelled = staff_api.post(f"{job['status_url']}/cancel")
    assert (
        cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled" and cancelled.json()["finished_at"]
    )
    assert prediction_job_work(job_id=job["id"]) is None
    assert not PredictionItem.objects.filter(job_id=job["id"]).exclude(claim="").exists()
    assert staff_api.post(f"{job['status_url']}/cancel").json()["finished_at"] == cancelled.json()["finished_at"]


# The stream is asynchronous, for daphne; the in-process test client reads it synchronously, which Django warns of.
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators")
def test_results_of_a_job_in_progress_list_every_item_with_nulls_for_the_unwritten(trained_demo_bot, staff_api):
    """Results can be read before the job is done: all items in order, unclassified ones without a result."""
    job = staff_api.post(URL, ["hello", "bye"], format="json").json()
    PredictionItem.objects.filter(job_id=job["id"], position=0).update(
        intent="greet", confidence=0.9, out_of_scope=False, language="en", written_at=timezone.now()
    )
    response = staff_api.get(job["results_url"])
    assert response["X-Job-Status"] == "queued"
    rows = json.loads(b"".join(response))
    assert [(r["index"], r["intent"], r["confidence"], r["language"]) for r in rows] == [
        (0, "greet", 0.9, "en"), (1, None, None, None)]  # fmt: skip
    assert staff_api.get(job["results_url"] + "?format=xml").status_code == 400


@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume asynchronous iterators")
def test_a_results_csv_guards_formula_like_cells_and_submits_back_as_the_same_texts(trained_demo_bot, staff_api):
    """Texts and ids a spreadsheet would run as a formula are written with a leading `'`; the results CSV posted
    back as a job gives exactly the original texts and ids."""
    texts = ['=HYPERLINK("http://evil.example","win")', "+1 555", "-x", "@sum", "\tindented", "\rback", "'=quoted"]
    job = staff_api.post(URL, [{"text": t, "id": "=1+1"} for t in texts] + ["plain"], format="json").json()
    table = b"".join(staff_api.get(job["results_url"] + "?format=csv")).decode()
    rows = list(csv.DictReader(io.StringIO(table)))
    assert [row["text"] for row in rows] == ["'" + t for t in texts] + ["plain"]
    assert {row["id"] for row in rows} == {"'=1+1", ""}
    again = staff_api.generic("POST", URL, table.encode(), content_type="text/csv").json()
    items = PredictionItem.objects.filter(job_id=again["id"]).order_by("position")
    assert [(i.text, i.external_id) for i in items] == [(t, "=1+1") for t in texts] + [("plain", "")]


def _predictions(intent: str, n: int) -> list[Prediction]:
    return [Prediction(intent=intent, confidence=0.5, language="en", ranking=[], out_of_scope=False)] * n


def test_an_expired_claim_taken_over_cannot_write_and_nothing_is_written_twice(trained_demo_bot, settings):
    """Claim A expires and claim B takes the chunk: B's write lands, A's later write changes nothing (results,
    written_at and the job's count stay B's), and B writing again changes nothing either."""
    from intents.batch_input import BatchText
    from intents.services import prediction_job_create
    from intents.services.prediction_jobs import _claim, _write

    settings.CHARLA_BATCH_CHUNK_SIZE = 2
    job = prediction_job_create(bot=trained_demo_bot, texts=[BatchText(t) for t in ("a", "b", "c")])
    claim_a, items_a = _claim(job.pk)
    assert [item.position for item in items_a] == [0, 1]
    # Long past: _claim compares with PostgreSQL's now(), the test transaction's start, which on a loaded machine
    # is seconds before Python's now (a lease "expired 1 s ago" by Python's clock was still live by it).
    PredictionItem.objects.filter(claim=claim_a).update(claimed_until=timezone.now() - timedelta(hours=1))
    claim_b, items_b = _claim(job.pk)
    assert [item.position for item in items_b] == [0, 1] and claim_b != claim_a
    assert _write(job.pk, claim_b, items_b, _predictions("greet", 2)) == 2
    written = list(PredictionItem.objects.filter(job=job, position__lt=2).values_list("intent", "written_at", "claims"))
    assert _write(job.pk, claim_a, items_a, _predictions("goodbye", 2)) == 0
    assert _write(job.pk, claim_b, items_b, _predictions("goodbye", 2)) == 0
    assert (
        list(PredictionItem.objects.filter(job=job, position__lt=2).values_list("intent", "written_at", "claims"))
        == written
    )
    assert [row[0] for row in written] == ["greet", "greet"] and [row[2] for row in written] == [2, 2]
    job.refresh_from_db()
    assert (job.done_items, job.status, job.finished_at) == (2, "running", None)
    claim_c, items_c = _claim(job.pk)
    assert [item.position for item in items_c] == [2] and _claim(job.pk) is None  # the rest is held or done
    assert _write(job.pk, claim_c, items_c, _predictions("thanks", 1)) == 1
    job.refresh_from_db()
    assert (job.done_items, job.status, job.finished_at is not None) == (3, "done", True)


def test_the_sweep_requeues_only_jobs_that_stalled_with_claimable_items(trained_demo_bot, settings):
    """A job with no progress for longer than a lease and items nobody holds gets a work task again; a job whose
    remaining items are under a live lease, or that progressed recently, does not."""
    import redis

    from intents.batch_input import BatchText
    from intents.services import prediction_job_create, prediction_jobs_requeue_stalled
    from intents.services.prediction_jobs import _claim

    stalled = prediction_job_create(bot=trained_demo_bot, texts=[BatchText("hi")])
    held = prediction_job_create(bot=trained_demo_bot, texts=[BatchText("bye")])
    assert _claim(held.pk) is not None
    recent = prediction_job_create(bot=trained_demo_bot, texts=[BatchText("thanks")])
    PredictionJob.objects.filter(pk=recent.pk).update(progressed_at=timezone.now() + timedelta(minutes=5))
    try:
        assert (
            prediction_jobs_requeue_stalled(older_than=timedelta(seconds=0), now=timezone.now() + timedelta(seconds=1))
            == 1
        )
        PredictionItem.objects.filter(job=held).update(claimed_until=timezone.now() - timedelta(seconds=1))
        assert (
            prediction_jobs_requeue_stalled(older_than=timedelta(seconds=0), now=timezone.now() + timedelta(seconds=1))
            == 2
        )
        assert prediction_jobs_requeue_stalled(older_than=timedelta(hours=1)) == 0
    finally:
        redis.Redis.from_url(settings.REDIS_URL).delete("batch")  # no worker here: drop the queued tasks


def test_a_job_of_exactly_the_item_limit_is_accepted_whole(trained_demo_bot, staff_api):
    """100,000 texts (a 3.4 MB body, over Django's 2.5 MB form-body limit): one job, every item stored in order."""
    texts = [f"where is my order number {n:07d}?" for n in range(100_000)]
    response = staff_api.generic("POST", URL, json.dumps(texts), content_type="application/json")
    assert response.status_code == 202, response.content
    items = PredictionItem.objects.filter(job_id=response.json()["id"])
    assert items.count() == 100_000 and response.json()["total_items"] == 100_000
    assert items.get(position=99_999).text == texts[-1]
