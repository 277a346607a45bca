"""Latency and throughput of each inference backend at batch sizes 1–128, and of the worker's path.

    .venv/bin/python -m bench.classifier --json bench/results/classifier.json [--seconds 0.5] [--threads 1]

Backends of the encoder (all-MiniLM-L6-v2, the part of the model that costs): torch fp32, torch int8 (dynamic
quantization of the Linear layers), ONNX Runtime fp32 and int8 (per-channel, as exported for the workers), CUDA
when present. With DATABASE_URL set and the demo bot trained, also the worker's path: the whole classifier
(encoder, TF-IDF, heads, language) through `intents.services.intent_predict_batch`, as `answer_worker` calls it.
Every cell of one run is measured in the same process, one after the other: compare them as ratios.
"""

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
from transformers import AutoModel, AutoTokenizer

from bench.chat_load import TEXTS
from bench.tally import percentile

BATCH_SIZES = [1, 2, 4, 8, 16, 32, 64, 128]


def mean_pooled(model, tokenizer, device: str = "cpu") -> Callable[[list[str]], object]:
    def encode(texts: list[str]):
        batch = tokenizer(texts, padding=True, truncation=True, max_length=256, return_tensors="pt").to(device)
        with torch.inference_mode():
            hidden = model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, p=2, dim=1).cpu()

    return encode


def backends(path: str, threads: int) -> tuple[dict[str, Callable], list[str]]:
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    fp32 = AutoModel.from_pretrained(path, local_files_only=True).eval()
    int8 = torch.ao.quantization.quantize_dynamic(
        AutoModel.from_pretrained(path, local_files_only=True).eval(), {torch.nn.Linear}, dtype=torch.qint8
    )
    found = {"torch-fp32": mean_pooled(fp32, tokenizer), "torch-int8": mean_pooled(int8, tokenizer)}
    notes = []
    found.update(onnx_backends(path, threads))
    if torch.cuda.is_available():
        found["cuda-fp32"] = mean_pooled(AutoModel.from_pretrained(path, local_files_only=True).eval().cuda(),
                                         tokenizer, "cuda")  # fmt: skip
    else:
        notes.append("no CUDA device on this machine")
    return found, notes


def onnx_backends(path: str, threads: int) -> dict[str, Callable]:
    """The encoder exported to ONNX (fp32, and int8 per-channel) exactly as the workers' backends export it."""
    from intents.classifier.onnx_encoder import OnnxEncoder, export_encoder

    found = {}
    directory = Path(tempfile.mkdtemp(prefix="charla-bench-onnx-"))
    for name, quantize in (("onnx-fp32", "none"), ("onnx-int8", "int8")):
        encoder = OnnxEncoder(str(export_encoder(path, directory / name, quantize=quantize)), threads=threads)
        found[name] = lambda texts, encoder=encoder: encoder.encode(texts, batch_size=len(texts))
    return found


def measure(predict: Callable[[list[str]], object], batch: int, seconds: float) -> dict:
    """Call `predict` on batches of `batch` sentences for about `seconds` (at least 5 calls)."""
    texts = [TEXTS[i % len(TEXTS)] for i in range(batch)]
    predict(texts)
    times, deadline = [], time.perf_counter() + seconds
    while len(times) < 5 or time.perf_counter() < deadline:
        started = time.perf_counter()
        predict(texts)
        times.append(time.perf_counter() - started)
    return {
        "batch_p50_ms": round(percentile(times, 50) * 1000, 2),
        "batch_p99_ms": round(percentile(times, 99) * 1000, 2),
        "sentences_per_s": round(batch * len(times) / sum(times), 1),
    }


def worker_path() -> Callable[[list[str]], object] | None:
    if not os.environ.get("DATABASE_URL"):
        return None
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatbot.settings")
    django.setup()
    from intents.models import Bot
    from intents.services import intent_predict_batch

    bot = Bot.objects.filter(slug="demo").first()
    return None if bot is None else (lambda texts: intent_predict_batch(bot_id=bot.pk, texts=texts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="time spent on each backend × batch cell")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (the workers use 1)")
    parser.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)))
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    from intents.classifier.encoder import default_encoder_path

    found, notes = backends(default_encoder_path(), args.threads)
    if (path := worker_path()) is not None:
        found["worker-path-torch-fp32"] = path
    else:
        notes.append("worker path skipped: set DATABASE_URL to a database with the demo bot trained")
    sizes = [int(size) for size in args.batch_sizes.split(",")]
    results = {
        name: {str(size): measure(predict, size, args.seconds) for size in sizes} for name, predict in found.items()
    }
    report = {"threads": args.threads, "results": results, "ratios": ratios(results, sizes), "notes": notes}
    print_table(results, sizes)
    print(json.dumps(report["ratios"], indent=2), *notes, sep="\n")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(report, indent=2))


def ratios(results: dict, sizes: list[str]) -> dict:
    """Each backend's throughput over torch fp32's at the same batch size."""
    base = results["torch-fp32"]
    return {
        f"{name}/torch-fp32": {str(s): round(cells[str(s)]["sentences_per_s"] / base[str(s)]["sentences_per_s"], 2)
                               for s in sizes}
        for name, cells in results.items() if name != "torch-fp32"
    }  # fmt: skip


def print_table(results: dict, sizes: list[int]) -> None:
    print(f"{'backend':<24}" + "".join(f"{f'b={s}':>16}" for s in sizes) + "   (batch p50 ms / sentences/s)")
    for name, cells in results.items():
        row = "".join(f"{cells[str(s)]['batch_p50_ms']:>8}/{cells[str(s)]['sentences_per_s']:<7}" for s in sizes)
        print(f"{name:<24}{row}")


if __name__ == "__main__":
    sys.exit(main())
