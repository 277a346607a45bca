from channels.security.websocket import AllowedHostsOriginValidator
from django.urls import path

from .console import ConsoleConsumer
from .consumers import ChatConsumer

websocket_urlpatterns = [
    path("ws/chat/<slug:bot>/", ChatConsumer.as_asgi()),
    # Staff sockets ride on the session cookie: only pages of this site (ALLOWED_HOSTS) may open one.
    path("ws/console/", AllowedHostsOriginValidator(ConsoleConsumer.as_asgi())),
]
