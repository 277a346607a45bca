from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from . import views

OPS_ENDPOINTS: dict[str, Callable[[HttpRequest], HttpResponse]] = {
    "/healthz": views.healthz,
    "/readyz": views.readyz,
    "/metrics": views.metrics,
}


class OpsEndpointsMiddleware:
    """Answers the probe and scrape endpoints before every other middleware.

    Load balancers, container healthchecks and Prometheus reach a process by its address (a container's IP,
    127.0.0.1 inside the container), not by a name in DJANGO_ALLOWED_HOSTS, and over plain HTTP inside the
    network: through the rest of the stack they would get 400 (host validation) or a redirect to HTTPS
    (DJANGO_SECURE_SSL_REDIRECT). These endpoints read no cookie and no Host header, and /metrics checks its
    own access (monitoring.views.metrics_refusal). They are not in chatbot/urls.py: this is their one route.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = OPS_ENDPOINTS.get(request.path_info)
        if view is not None and request.method in ("GET", "HEAD"):
            return view(request)
        return self.get_response(request)
