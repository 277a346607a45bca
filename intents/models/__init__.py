from .api_keys import ApiKey
from .bots import Bot, Intent, Language, Response, TrainingExample
from .demo import DemoBooking
from .dialogue import BUILTIN_ENTITIES, Entity, EntityValue, IntentContext, Slot
from .predictions import PredictionItem, PredictionJob
from .registry import ModelVersion, TrainingJob

__all__ = [
    "ApiKey",
    "BUILTIN_ENTITIES",
    "Bot",
    "DemoBooking",
    "Entity",
    "EntityValue",
    "Intent",
    "IntentContext",
    "Language",
    "ModelVersion",
    "PredictionItem",
    "PredictionJob",
    "Response",
    "Slot",
    "TrainingExample",
    "TrainingJob",
]
