"""The intents admin: one module per area, each registering its own model admins."""

from . import bots  # noqa: F401
from . import prediction_jobs  # noqa: F401
