"""An ASGI application that answers every HTTP request with the id of the process that served it (test_serve)."""

import os


async def application(scope, receive, send) -> None:
    if scope["type"] == "lifespan":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": str(os.getpid()).encode()})
