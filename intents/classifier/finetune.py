"""Opt-in fine-tuning of the sentence encoder on a bot's own examples (SetFit-style), before the usual head.

Contrastive, as SetFit is: sentences of one intent are pulled together and those of other intents pushed apart,
then the linear head is fitted on the tuned embeddings. The loss is the supervised contrastive one (Khosla et al.
2020; SetFit's SupConLoss): each batch holds pairs of examples of the same intent, and every other sentence in the
batch is a negative, so each example is read once an epoch instead of once per pair. A short loop over torch and
transformers: the `setfit` package would add datasets, pandas, pyarrow and accelerate for the same few lines.

Runs on the encoder's device: a GPU when there is one. On CPU it works, slowly (docs/evaluation.md).
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .encoder import MAX_TOKENS, Encoder, mean_pool


@dataclass(frozen=True)
class EncoderTuning:
    epochs: int = 4
    batch_size: int = 32  # sentences: half as many same-intent pairs
    learning_rate: float = 2e-5
    temperature: float = 0.05  # sharpness of the similarity softmax (MultipleNegativesRankingLoss' scale 20)

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 4 or self.learning_rate <= 0 or self.temperature <= 0:
            raise ValueError(f"invalid encoder tuning {self}")


def encoder_tune(
    encoder: Encoder,
    texts: list[str],
    intents: list[str],
    *,
    tuning: EncoderTuning,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
) -> Encoder:
    """A copy of `encoder` fine-tuned on the examples; `encoder` itself (shared by the process) is left as it was."""
    torch.manual_seed(seed)
    model = copy.deepcopy(encoder.model).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=tuning.learning_rate)
    rng = np.random.default_rng(seed)
    labels = np.unique(np.asarray(intents), return_inverse=True)[1]
    batches = [_pair_batches(labels, tuning.batch_size, rng) for _ in range(tuning.epochs)]
    total, done = sum(len(epoch) for epoch in batches), 0
    for epoch in batches:
        for rows in epoch:
            tokens = encoder.tokenizer(
                [texts[i] for i in rows], padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt"
            ).to(encoder.device)
            pooled = mean_pool(model(**tokens).last_hidden_state, tokens["attention_mask"])
            loss = supervised_contrastive_loss(pooled, torch.as_tensor(labels[rows], device=encoder.device),
                                               tuning.temperature)  # fmt: skip
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            done += 1
            if progress is not None:
                progress(done / total)
    return encoder.with_model(model.eval())


def supervised_contrastive_loss(embeddings: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean over anchors with a same-intent partner in the batch of -log softmax(similarity / t) over its
    partners, the softmax running over every other sentence of the batch (embeddings are unit-length)."""
    similarity = embeddings @ embeddings.T / temperature
    self_mask = torch.eye(len(labels), dtype=torch.bool, device=embeddings.device)
    similarity = similarity.masked_fill(self_mask, float("-inf"))
    log_prob = similarity - torch.logsumexp(similarity, dim=1, keepdim=True)
    positives = (labels[:, None] == labels[None, :]) & ~self_mask
    anchors = positives.any(dim=1)
    per_anchor = -log_prob.masked_fill(~positives, 0.0).sum(dim=1)[anchors] / positives.sum(dim=1)[anchors]
    return per_anchor.mean()


def _pair_batches(labels: np.ndarray, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    """One epoch: every example once, in batches made of same-intent pairs of different intents where possible
    (an intent's odd example out joins as a lone negative)."""
    by_label: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_label[int(label)].append(i)
    chunks = []
    for rows in by_label.values():
        rows = rng.permutation(rows).tolist()
        chunks.extend(rows[i : i + 2] for i in range(0, len(rows), 2))
    order = rng.permutation(len(chunks))
    flat = [row for k in order for row in chunks[k]]
    return [np.asarray(flat[i : i + batch_size]) for i in range(0, len(flat), batch_size)]
