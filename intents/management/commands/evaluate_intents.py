import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from intents.classifier.backends import BACKENDS
from intents.classifier.datasets import DATASETS, dataset_load
from intents.classifier.evaluation import benchmark_run, few_shot_run
from intents.classifier.finetune import EncoderTuning


class Command(BaseCommand):
    help = "Train on a benchmark's train split and report on its test split (docs/evaluation.md)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dataset", required=True, choices=DATASETS)
        parser.add_argument("--data-dir", required=True, help="Folder holding the datasets, e.g. ../shared/datasets.")
        parser.add_argument("--backend", default="torch", choices=BACKENDS, help="Encoder runtime evaluated.")
        parser.add_argument("--json", dest="json_path", help="Also write the figures to this JSON file.")
        parser.add_argument("--plot", help="Confusion-matrix PNG (default: <dataset>-<backend>-confusion.png).")
        parser.add_argument("--per-intent", type=int, help="Keep only this many examples of each intent per split.")
        parser.add_argument(
            "--no-tune", action="store_true", help="Skip choosing the head on validation: train the bots' default."
        )
        parser.add_argument(
            "--oos-train", action="store_true", help="Train on the dataset's out-of-scope examples too (CLINC150)."
        )
        parser.add_argument(
            "--examples-per-intent", type=int,
            help="Few-shot: train a bot's default model on this many random train examples of each intent.",
        )  # fmt: skip
        parser.add_argument("--draws", type=int, default=3, help="Few-shot: draws, with seeds 0, 1, … (default 3).")
        parser.add_argument(
            "--tune-encoder", action="store_true",
            help="Fine-tune the sentence encoder first (SetFit-style; slow without a GPU).",
        )  # fmt: skip

    def handle(self, *args, dataset: str, data_dir: str, backend: str, json_path: str | None, plot: str | None,
               per_intent: int | None, no_tune: bool, oos_train: bool, examples_per_intent: int | None, draws: int,
               tune_encoder: bool, **options) -> None:  # fmt: skip
        if not Path(data_dir).is_dir():
            raise CommandError(f"No dataset folder at {data_dir!r}.")
        if examples_per_intent is not None and (examples_per_intent < 1 or draws < 1):
            raise CommandError("--examples-per-intent and --draws must be at least 1.")
        if examples_per_intent is not None and (oos_train or no_tune):
            raise CommandError("--examples-per-intent trains the bots' untuned default: no --oos-train or --no-tune.")
        data = dataset_load(dataset, data_dir, per_intent=per_intent)
        plot = plot or f"{dataset}-{backend}-confusion.png"
        with tqdm(total=100, desc="evaluating", unit="%", disable=options["verbosity"] == 0) as bar:

            def progress(stage: str, fraction: float) -> None:
                bar.set_description(stage)
                bar.update(round(fraction * 100) - bar.n)

            encoder_path, tuning = settings.CHARLA_ENCODER_PATH or None, EncoderTuning() if tune_encoder else None
            if examples_per_intent is None:
                result = benchmark_run(
                    data, backend=backend, tune=not no_tune, encoder_path=encoder_path, plot_path=plot,
                    oos_train=oos_train, encoder_tuning=tuning, progress=progress,
                )  # fmt: skip
            else:
                result = few_shot_run(
                    data, examples_per_intent=examples_per_intent, draws=draws, backend=backend,
                    encoder_path=encoder_path, encoder_tuning=tuning, progress=progress,
                )  # fmt: skip
            progress("done", 1.0)
        if json_path:
            Path(json_path).write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
        keys = ("dataset", "backend", "accuracy", "macro_f1", "in_scope_accuracy", "oos_recall", "train_seconds",
                "ms_per_text", "examples_per_intent", "accuracy_std", "accuracy_min", "accuracy_max")  # fmt: skip
        summary = {key: result[key] for key in keys if key in result}
        self.stdout.write(json.dumps(summary))
