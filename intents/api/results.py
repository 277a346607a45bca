"""A job's results as a stream (JSON array, JSON lines or CSV), read page by page: never held in memory."""

import io
import json
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.http import StreamingHttpResponse

from .. import selectors
from ..csv_cells import SpreadsheetWriter
from ..models import PredictionJob

PAGE = 2000
COLUMNS = ["index", "id", "text", "intent", "confidence", "out_of_scope", "language", "model_version"]
CONTENT_TYPES = {"json": "application/json", "jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def results_response(*, job: PredictionJob, fmt: str) -> StreamingHttpResponse:
    """An async stream, so that daphne sends each page as it is read (a sync iterator is buffered whole under ASGI)."""
    response = StreamingHttpResponse(_stream(job, fmt), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="prediction-job-{job.pk}.{fmt}"'
    response["X-Job-Status"] = job.status
    return response


async def _stream(job: PredictionJob, fmt: str) -> AsyncIterator[bytes]:
    version, after, first = job.model_version.version, -1, True
    if fmt == "json":
        yield b"["
    elif fmt == "csv":
        yield _csv_lines([COLUMNS])
    while page := await sync_to_async(selectors.prediction_results_page)(job_id=job.pk, after=after, limit=PAGE):
        rows = [_row(values, version) for values in page]
        if fmt == "csv":
            yield _csv_lines([[row[column] for column in COLUMNS] for row in rows])
        elif fmt == "jsonl":
            yield "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode()
        else:
            yield (("" if first else ",") + ",".join(json.dumps(row, ensure_ascii=False) for row in rows)).encode()
        after, first = page[-1][0], False
    if fmt == "json":
        yield b"]"


def _row(values: tuple, version: int) -> dict:
    position, external_id, text, intent, confidence, out_of_scope, language = values
    written = confidence is not None
    return {
        "index": position, "id": external_id, "text": text, "intent": intent if written else None,
        "confidence": round(confidence, 4) if written else None, "out_of_scope": out_of_scope,
        "language": language if written else None, "model_version": version,
    }  # fmt: skip


def _csv_lines(rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = SpreadsheetWriter(buffer)
    writer.writerows(["" if value is None else str(value).lower() if isinstance(value, bool) else value
                      for value in row] for row in rows)  # fmt: skip
    return buffer.getvalue().encode()


