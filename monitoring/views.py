"""/healthz, /readyz and /metrics. Served by monitoring.middleware.OpsEndpointsMiddleware, ahead of the rest."""

import hmac
import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from .health import readiness


def healthz(request: HttpRequest) -> HttpResponse:
    """The process is up and serving requests; touches nothing else (no database, no Redis)."""
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    """200 when the database, Redis and every production model are usable; else 503 naming what fails."""
    ready, report = readiness()
    return JsonResponse(report, status=200 if ready else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition: django-prometheus' series for this process plus the product's own."""
    refusal = metrics_refusal(request)
    if refusal:
        return JsonResponse({"code": "forbidden", "message": refusal}, status=403)
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)


def metrics_refusal(request: HttpRequest) -> str | None:
    """Why this request may not read the metrics, or None.

    With CHARLA_METRICS_TOKEN set, only `Authorization: Bearer <token>` is accepted, from anywhere. Without it,
    only clients whose address is in CHARLA_METRICS_ALLOWED_IPS (addresses or networks; loopback by default).
    """
    token = settings.CHARLA_METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return None
        return "Send the metrics token: Authorization: Bearer <CHARLA_METRICS_TOKEN>."
    try:
        client = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return "The client's address is unknown; set CHARLA_METRICS_TOKEN to scrape with a token."
    if any(client in ipaddress.ip_network(net, strict=False) for net in settings.CHARLA_METRICS_ALLOWED_IPS):
        return None
    return f"{client} is not in CHARLA_METRICS_ALLOWED_IPS; set it, or scrape with CHARLA_METRICS_TOKEN."
