"""The intents admin: one module per area, each registering its own model admins."""

from . import (  # noqa: F401
    bots,
    demo,
    training,
)
