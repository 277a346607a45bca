from .bots import Bot, Intent, Language, Response, TrainingExample
from .registry import ModelVersion

__all__ = ["Bot", "Intent", "Language", "ModelVersion", "Response", "TrainingExample"]
