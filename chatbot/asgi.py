import os

from django.core.asgi import get_asgi_application

from chatbot.hardening import secret_key_require

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
secret_key_require()
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs the app registry ready)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from conversations.routing import websocket_urlpatterns  # noqa: E402

# Origin is checked per bot inside the consumer's handshake (each bot has its own allowed origins).
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
