"""What a prediction is: the classifier's answer for one text. Light to import (no torch): the dialogue and the
web processes use it without loading the model."""

from dataclasses import dataclass

OUT_OF_SCOPE_INTENT = "out_of_scope"


@dataclass(frozen=True)
class Prediction:
    intent: str  # best intent slug, reported even when out of scope
    confidence: float  # probability of `intent` under the model, 0..1
    language: str  # one of the training languages (the only one, for a one-language bot)
    ranking: list[tuple[str, float]]  # top-k (intent, probability), best first
    out_of_scope: bool  # rejection score below the calibrated threshold, or the out-of-scope intent won
    similarity: float | None = None  # mean cosine to the nearest training examples; None if no model said so
    evidence: tuple[float, ...] | None = None  # what the rejection score weighs (head.EVIDENCE); None: no model
