"""Actions (fulfillment) as the dialogue step sees them: plain data, no HTTP (that is services/actions.py).

A turn that reaches an intent with an action is not finished by the step alone: it returns the ActionRequest,
the caller calls the bot's backend with no lock held, and steps the same turn again with the ActionOutcome.
The outcome is used only if the step asks for the very same request again (same slots, language, text);
otherwise the state changed in between and the new request is called instead.
"""

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ActionRequest:
    """What the turn asks the bot's backend to do."""

    action: str  # the path under the bot's action base URL
    intent: str
    slots: dict[str, Any]
    language: str
    text: str


@dataclass(frozen=True)
class ActionResult:
    """The backend's answer, validated; `ok` False means the bot's failure response is given (`error` says why)."""

    ok: bool
    slots: dict[str, Any] = field(default_factory=dict)  # a None value clears that slot
    text: str | None = None
    buttons: list[dict[str, str]] | None = None
    error: str = ""


@dataclass(frozen=True)
class ActionOutcome:
    request: ActionRequest
    result: ActionResult
