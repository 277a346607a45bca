import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from intents.classifier.backends import BACKENDS
from intents.classifier.datasets import DATASETS, dataset_load
from intents.classifier.evaluation import benchmark_run


class Command(BaseCommand):
    help = "Train on a benchmark's train split and report on its test split (docs/evaluation.md)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--dataset", required=True, choices=DATASETS)
        parser.add_argument("--data-dir", required=True, help="Folder holding the datasets, e.g. ../shared/datasets.")
        parser.add_argument("--backend", default="torch", choices=BACKENDS, help="Encoder runtime evaluated.")
        parser.add_argument("--json", dest="json_path", help="Also write the figures to this JSON file.")
        parser.add_argument("--plot", help="Confusion-matrix PNG (default: <dataset>-<backend>-confusion.png).")
        parser.add_argument("--per-intent", type=int, help="Keep only this many examples of each intent per split.")
        parser.add_argument("--no-tune", action="store_true", help="Skip choosing C and block weights on validation.")
        parser.add_argument(
            "--oos-train", action="store_true", help="Train on the dataset's out-of-scope examples too (CLINC150)."
        )

    def handle(self, *args, dataset: str, data_dir: str, backend: str, json_path: str | None, plot: str | None,
               per_intent: int | None, no_tune: bool, oos_train: bool, **options) -> None:  # fmt: skip
        if not Path(data_dir).is_dir():
            raise CommandError(f"No dataset folder at {data_dir!r}.")
        data = dataset_load(dataset, data_dir, per_intent=per_intent)
        plot = plot or f"{dataset}-{backend}-confusion.png"
        with tqdm(total=100, desc="evaluating", unit="%", disable=options["verbosity"] == 0) as bar:

            def progress(stage: str, fraction: float) -> None:
                bar.set_description(stage)
                bar.update(round(fraction * 100) - bar.n)

            result = benchmark_run(
                data, backend=backend, tune=not no_tune, encoder_path=settings.CHARLA_ENCODER_PATH or None,
                plot_path=plot, oos_train=oos_train, progress=progress,
            )  # fmt: skip
            progress("done", 1.0)
        if json_path:
            Path(json_path).write_text(json.dumps(result, indent=2, ensure_ascii=False), encoding="utf-8")
        summary = {key: result[key] for key in ("dataset", "backend", "accuracy", "macro_f1", "in_scope_accuracy",
                                                 "oos_recall", "train_seconds", "ms_per_text")}  # fmt: skip
        self.stdout.write(json.dumps(summary))
