"""Readers for the public intent benchmarks, each as train / validation / test splits.

The files stay where they are (../shared/datasets); nothing is copied.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DATASETS = ("clinc150", "banking77", "multilingual_tod_es")
# Banking77 ships no validation split; this share of train (stratified, seeded) plays that role.
BANKING_VALIDATION_SHARE = 0.1


@dataclass
class Split:
    texts: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def head_per_intent(self, n: int | None) -> Split:
        """The first `n` examples of each intent, in file order (the whole split when n is None)."""
        if n is None:
            return self
        seen: dict[str, int] = defaultdict(int)
        out = Split()
        for text, intent in zip(self.texts, self.intents):
            if seen[intent] < n:
                seen[intent] += 1
                out.texts.append(text)
                out.intents.append(intent)
        return out

    def sample_per_intent(self, n: int, seed: int) -> Split:
        """`n` examples of each intent drawn at random (all of an intent that has fewer), in split order."""
        if n < 1:
            raise ValueError(f"examples per intent must be >= 1, got {n}")
        rng = np.random.default_rng(seed)
        by_intent: dict[str, list[int]] = defaultdict(list)
        for i, intent in enumerate(self.intents):
            by_intent[intent].append(i)
        picked = sorted(i for rows in by_intent.values() for i in rng.permutation(rows)[:n].tolist())
        return Split([self.texts[i] for i in picked], [self.intents[i] for i in picked])


@dataclass
class Dataset:
    name: str
    language: str
    train: Split
    validation: Split
    test: Split
    oos_train: list[str] = field(default_factory=list)  # out-of-scope messages, where the dataset has them
    oos_validation: list[str] = field(default_factory=list)
    oos_test: list[str] = field(default_factory=list)
    # True when validation was carved out of the official train split: the final model then trains on both.
    validation_from_train: bool = False

    def final_train(self) -> Split:
        if not self.validation_from_train:
            return self.train
        return Split(self.train.texts + self.validation.texts, self.train.intents + self.validation.intents)


def dataset_load(name: str, data_dir: str | Path, *, per_intent: int | None = None) -> Dataset:
    """Read a benchmark; `per_intent` keeps only that many examples of each intent in every split (and of oos)."""
    loaders = {"clinc150": _clinc150, "banking77": _banking77, "multilingual_tod_es": _multilingual_tod_es}
    if name not in loaders:
        raise ValueError(f"unknown dataset {name!r}; one of {', '.join(DATASETS)}")
    dataset = loaders[name](Path(data_dir))
    if per_intent is not None:
        for split in ("train", "validation", "test"):
            setattr(dataset, split, getattr(dataset, split).head_per_intent(per_intent))
        dataset.oos_train = dataset.oos_train[: per_intent * 5]
        dataset.oos_validation = dataset.oos_validation[: per_intent * 5]
        dataset.oos_test = dataset.oos_test[: per_intent * 5]
    return dataset


def _split(rows: list[tuple[str, str]]) -> Split:
    return Split([text for text, _ in rows], [intent for _, intent in rows])


def _clinc150(root: Path) -> Dataset:
    data = json.loads((root / "clinc150" / "data" / "data_full.json").read_text(encoding="utf-8"))
    return Dataset(
        name="clinc150", language="en", train=_split(data["train"]), validation=_split(data["val"]),
        test=_split(data["test"]), oos_train=[t for t, _ in data["oos_train"]],
        oos_validation=[t for t, _ in data["oos_val"]],
        oos_test=[t for t, _ in data["oos_test"]],
    )  # fmt: skip


def _banking77(root: Path) -> Dataset:
    def read(file: str) -> Split:
        with open(root / "banking77" / "banking_data" / file, encoding="utf-8", newline="") as fh:
            return _split([(row["text"], row["category"]) for row in csv.DictReader(fh)])

    train, test = read("train.csv"), read("test.csv")
    rng = np.random.default_rng(0)
    held: set[int] = set()
    by_intent: dict[str, list[int]] = defaultdict(list)
    for i, intent in enumerate(train.intents):
        by_intent[intent].append(i)
    for rows in by_intent.values():
        held.update(rng.choice(rows, size=max(1, round(len(rows) * BANKING_VALIDATION_SHARE)), replace=False).tolist())
    fit = _split([(train.texts[i], train.intents[i]) for i in range(len(train)) if i not in held])
    validation = _split([(train.texts[i], train.intents[i]) for i in sorted(held)])
    return Dataset(
        name="banking77", language="en", train=fit, validation=validation, test=test, validation_from_train=True
    )


def _multilingual_tod_es(root: Path) -> Dataset:
    def read(file: str) -> Split:
        rows = []
        for line in (root / "multilingual_tod_es" / "es" / file).read_text(encoding="utf-8").splitlines():
            columns = line.split("\t")
            if len(columns) >= 3 and columns[2].strip():
                rows.append((columns[2].strip(), columns[0]))
        return _split(rows)

    return Dataset(
        name="multilingual_tod_es",
        language="es",
        train=read("train-es.tsv"),
        validation=read("eval-es.tsv"),
        test=read("test-es.tsv"),
    )
