from .api_keys import ApiKey
from .bots import Bot, Intent, Language, Response, TrainingExample
from .dialogue import BUILTIN_ENTITIES, Entity, EntityValue, IntentContext, Slot
from .registry import ModelVersion, TrainingJob

__all__ = [
    "ApiKey",
    "BUILTIN_ENTITIES",
    "Bot",
    "Entity",
    "EntityValue",
    "Intent",
    "IntentContext",
    "Language",
    "ModelVersion",
    "Response",
    "Slot",
    "TrainingExample",
    "TrainingJob",
]
