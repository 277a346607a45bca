"""Multi-turn dialogue: entities, contexts, forms, responses. Pure decisions over plain data; the services store."""

from .actions import ActionOutcome, ActionRequest, ActionResult
from .language import turn_language
from .step import FALLBACK_INTENT, HANDOFF_INTENT, Turn, dialogue_step, payload_prediction

__all__ = [
    "ActionOutcome",
    "ActionRequest",
    "ActionResult","FALLBACK_INTENT", "HANDOFF_INTENT", "Turn", "dialogue_step", "payload_prediction", "turn_language"]
