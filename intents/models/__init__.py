from .bots import Bot, Intent, Language, Response, TrainingExample
from .dialogue import BUILTIN_ENTITIES, Entity, EntityValue, IntentContext, Slot
from .predictions import PredictionItem, PredictionJob
from .registry import ModelVersion, TrainingJob

__all__ = [
    "BUILTIN_ENTITIES",
    "Bot",
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
