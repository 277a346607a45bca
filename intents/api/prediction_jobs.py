"""Batch prediction jobs over REST: submit texts (JSON or CSV), read status and progress, stream the results.

Thin views: parse and check the input, call one service, format. The permission is `PERMISSIONS`, in one place.
"""

import json
import uuid

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ParseError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors, services
from ..batch_input import BatchInputError, texts_from_csv, texts_from_json
from ..models import Bot, PredictionJob
from ..permissions import BotAccess
from .results import results_response

# Staff for now; per-bot API keys replace it with one line: [intents.permissions.BotAccess].
PERMISSIONS = [BotAccess]


class BatchJsonParser(BaseParser):
    """JSON read from the request stream. DRF's JSONParser reads `request.body`, which Django caps at
    DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) for every view; a job's body is capped by CHARLA_BATCH_MAX_BYTES instead,
    checked against Content-Length before the body is read."""

    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None) -> object:
        try:
            return json.loads(stream.read().decode("utf-8")) if stream is not None else None
        except (UnicodeDecodeError, ValueError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc


class CsvParser(BaseParser):
    """A raw CSV body (`Content-Type: text/csv`), handed to the view as bytes."""

    media_type = "text/csv"

    def parse(self, stream, media_type=None, parser_context=None) -> bytes:
        return stream.read() if stream is not None else b""


class JsonOnlyNegotiation(DefaultContentNegotiation):
    """Errors and status bodies are always JSON; `?format=` and `Accept` only choose the results stream's format,
    which the results view reads itself (DRF's own negotiation would answer 404 to `?format=csv`)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class PredictionJobSerializer(serializers.ModelSerializer):
    bot = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    model_version = serializers.IntegerField(source="model_version.version", read_only=True)
    progress = serializers.FloatField(source="percent", read_only=True, help_text="Percent of items classified.")
    status_url = serializers.SerializerMethodField()
    results_url = serializers.SerializerMethodField()

    class Meta:
        model = PredictionJob
        fields = ["id", "bot", "status", "total_items", "done_items", "progress", "model_version", "source", "error",
                  "created_at", "started_at", "finished_at", "status_url", "results_url"]  # fmt: skip

    def get_status_url(self, job: PredictionJob) -> str:
        path = reverse("prediction-job", kwargs={"slug": job.bot.slug, "job_id": job.pk})
        return self.context["request"].build_absolute_uri(path)

    def get_results_url(self, job: PredictionJob) -> str:
        path = reverse("prediction-job-results", kwargs={"slug": job.bot.slug, "job_id": job.pk})
        return self.context["request"].build_absolute_uri(path)


_ERROR_CODES = {
    400: "invalid_input",
    409: "no_model",
    413: "too_large",
    415: "unsupported_media_type",
    503: "unavailable",
}


def _error(detail: str, code: int, errors: list[dict] | None = None) -> Response:
    """The API's error shape (chatbot/api_errors.py), with the bad rows as `errors`."""
    body = {"code": _ERROR_CODES.get(code, "error"), "message": detail}
    return Response(body | ({"errors": errors} if errors else {}), status=code)


class PredictionJobListView(APIView):
    permission_classes = PERMISSIONS
    parser_classes = [BatchJsonParser, CsvParser, MultiPartParser]

    @extend_schema(
        summary="Submit texts to classify as a batch job",
        description="A JSON list of texts (an element may be {\"text\", \"id\"}), {\"texts\": [...]}, a CSV body "
        "(Content-Type: text/csv) or a multipart upload with field `file`: one text per row, optional header "
        "with `text` and `id` columns. Up to CHARLA_BATCH_MAX_ITEMS (100,000) texts. Validated first: on any "
        "error nothing is stored.",
        request={"application/json": OpenApiTypes.ANY, "text/csv": OpenApiTypes.STR,
                 "multipart/form-data": {"type": "object",
                                         "properties": {"file": {"type": "string", "format": "binary"}}}},
        responses={202: PredictionJobSerializer, 400: OpenApiResponse(description="Invalid input; nothing stored."),
                   404: OpenApiResponse(description="No such bot."),
                   409: OpenApiResponse(description="No production model."),
                   413: OpenApiResponse(description="Over the item or byte limit.")},
    )  # fmt: skip
    def post(self, request: Request, slug: str) -> Response:
        bot = _bot(slug)
        if int(request.headers.get("Content-Length") or 0) > settings.CHARLA_BATCH_MAX_BYTES:
            return _error(f"The body is over {settings.CHARLA_BATCH_MAX_BYTES} bytes; split the file.", 413)
        limits = {"max_items": settings.CHARLA_BATCH_MAX_ITEMS, "max_chars": settings.CHARLA_MAX_MESSAGE_CHARS}
        try:
            texts, source = _texts(request, limits)
            job = services.prediction_job_create(bot=bot, texts=texts, requested_by_id=request.user.pk, source=source)
        except BatchInputError as exc:
            return _error(exc.message, 413 if exc.too_large else 400, exc.errors)
        except services.NoModelError as exc:
            return _error(str(exc), 409)
        except services.BatchUnsupportedError as exc:
            return _error(str(exc), 503)
        job = selectors.prediction_job_get(bot=bot, job_id=job.pk)
        body = PredictionJobSerializer(job, context={"request": request}).data
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": body["status_url"]})


def _texts(request: Request, limits: dict) -> tuple[list, str]:
    """The submitted texts and the uploaded file's name (blank for a body)."""
    if request.content_type.startswith("multipart/form-data"):
        upload = request.FILES.get("file")
        if upload is None:
            raise BatchInputError("Upload the CSV file in the multipart field `file`.")
        return texts_from_csv(upload.read(), **limits), upload.name[:200]
    if not int(request.headers.get("Content-Length") or 0):
        raise BatchInputError("No texts to classify: the body is empty.")
    data = request.data
    if isinstance(data, bytes):
        return texts_from_csv(data, **limits), ""
    return texts_from_json(data, **limits), ""


class PredictionJobDetailView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(summary="A batch job's status, counts and progress", responses={200: PredictionJobSerializer})
    def get(self, request: Request, slug: str, job_id: uuid.UUID) -> Response:
        job = _job(slug, job_id)
        return Response(PredictionJobSerializer(job, context={"request": request}).data)


class PredictionJobCancelView(APIView):
    permission_classes = PERMISSIONS

    @extend_schema(summary="Cancel a queued or running batch job (results written so far stay)", request=None,
                   responses={200: PredictionJobSerializer})  # fmt: skip
    def post(self, request: Request, slug: str, job_id: uuid.UUID) -> Response:
        job = services.prediction_job_cancel(job=_job(slug, job_id))
        return Response(PredictionJobSerializer(job, context={"request": request}).data)


class PredictionJobResultsView(APIView):
    permission_classes = PERMISSIONS
    content_negotiation_class = JsonOnlyNegotiation

    @extend_schema(
        summary="Stream a batch job's results in item order",
        description="One row per item: index, id, text, intent, confidence, out_of_scope, language, "
        "model_version (result fields null while the item is not classified yet). JSON array by default; "
        "`?format=jsonl` or `Accept: application/x-ndjson` for JSON lines; "
        "`?format=csv` or `Accept: text/csv` for CSV.",
        parameters=[OpenApiParameter("format", str, enum=["json", "jsonl", "csv"])],
        responses={(200, "application/json"): OpenApiTypes.ANY, (200, "text/csv"): OpenApiTypes.STR},
    )  # fmt: skip
    def get(self, request: Request, slug: str, job_id: uuid.UUID):
        job = _job(slug, job_id)
        wanted = request.query_params.get("format") or _format_from_accept(request.headers.get("Accept", ""))
        if wanted not in ("json", "jsonl", "csv"):
            return _error(f"Unknown format {wanted!r}: json, jsonl or csv.", 400)
        return results_response(job=job, fmt=wanted)


def _format_from_accept(accept: str) -> str:
    if "text/csv" in accept:
        return "csv"
    return "jsonl" if "application/x-ndjson" in accept or "application/jsonl" in accept else "json"


def _bot(slug: str) -> Bot:
    bot = selectors.bot_get(slug=slug)
    if bot is None:
        raise NotFound(f"No bot '{slug}'.")
    return bot


def _job(slug: str, job_id: uuid.UUID) -> PredictionJob:
    job = selectors.prediction_job_get(bot=_bot(slug), job_id=job_id)
    if job is None:
        raise NotFound(f"Bot '{slug}' has no prediction job {job_id}.")
    return job
