"""The intents admin: one module per area, each registering its own model admins."""

from . import (  # noqa: F401
    api_keys,
    bots,
    demo,
    prediction_jobs,
    training,
)
