"""Every API error is a JSON body with a code and a clear message: `{"code": "...", "message": "..."}`.

DRF's exceptions (authentication, permission, validation with per-field `fields`, parse errors, 405, 415, 429)
go through `api_exception_handler`; the services' own refusals are mapped here too, so views need no try/except
for them. Django's 404 and 500 pages answer the same shape under the API's paths (`handler404`/`handler500`).
"""

import logging
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from conversations.services import MessageRejected
from intents.services import ClassifierError, NoModelError

API_PATHS = ("/api/", "/webhooks/", "/model/")


class ApiError(exceptions.APIException):
    """An API refusal with its own status, code and extra fields for the body (e.g. the seq of a stored message)."""

    def __init__(
        self, *, status_code: int, code: str, message: str, retry_after: int | None = None, **extra: Any
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.wait = retry_after  # DRF's handler sends it as the Retry-After header
        self.extra = extra if retry_after is None else {**extra, "retry_after": retry_after}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, MessageRejected):
        exc = ApiError(status_code=status.HTTP_400_BAD_REQUEST, code=exc.code, message=exc.message)
    elif isinstance(exc, NoModelError):
        exc = ApiError(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE, code="no_model",
            message="This bot has no production model yet: train one (admin, or `manage.py train_intents`).",
        )  # fmt: skip
    elif isinstance(exc, ClassifierError):
        logging.getLogger(__name__).error("the classifier raised on an API request", exc_info=exc)
        exc = ApiError(
            status_code=status.HTTP_500_INTERNAL_SERVER_ERROR, code="classifier_error",
            message="The model failed on this text; the failure is logged. Other texts are not affected.",
        )  # fmt: skip
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "Not found.")
    response = exception_handler(exc, context)
    if response is None:
        return None
    response.data = _body(exc)
    return response


def _body(exc: exceptions.APIException) -> dict[str, Any]:
    detail = exc.detail
    if isinstance(detail, (dict, list)):
        fields = detail if isinstance(detail, dict) else {"non_field_errors": detail}
        summary = "; ".join(f"{name}: {' '.join(str(m) for m in _flat(errors))}" for name, errors in fields.items())
        return {"code": "invalid", "message": f"Invalid request. {summary}", "fields": fields}
    body = {"code": getattr(detail, "code", None) or exc.default_code, "message": str(detail)}
    return {**body, **getattr(exc, "extra", {})}


def _flat(errors: Any) -> list[Any]:
    if isinstance(errors, dict):
        return [f"{name}: {' '.join(str(m) for m in _flat(value))}" for name, value in errors.items()]
    return errors if isinstance(errors, list) else [errors]


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PATHS)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"code": "not_found", "message": f"No API endpoint at {request.path}."}, status=404)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"code": "server_error", "message": "Internal server error; it was logged."}, status=500)
    return defaults.server_error(request)
