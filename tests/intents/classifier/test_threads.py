"""Thread settings of a worker process: one setting caps torch and every BLAS/OpenMP pool."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROBE = """
import json, os, threadpoolctl, torch
from intents.classifier import configure_threads
configure_threads(1)
print(json.dumps({"torch": torch.get_num_threads(), "tokenizers": os.environ.get("TOKENIZERS_PARALLELISM"),
                  "pools": [(p["internal_api"], p["num_threads"]) for p in threadpoolctl.threadpool_info()]}))
"""


def test_configure_threads_caps_torch_and_every_blas_and_openmp_pool():
    """configure_threads(1) leaves torch and the BLAS/OpenMP pools numpy, scipy and scikit-learn use at one
    thread each, and switches off the fast tokenizer's pool: otherwise OpenBLAS splits the heads' products over
    every core and spins while it waits, and the tokenizer splits each batch of texts."""
    unset = {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TOKENIZERS_PARALLELISM"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=True, timeout=120)  # fmt: skip
    threads = json.loads(result.stdout.strip().splitlines()[-1])
    assert threads["torch"] == 1
    assert threads["tokenizers"] == "false"
    apis = {api for api, _ in threads["pools"]}
    assert "openblas" in apis or "mkl" in apis, threads
    assert all(count == 1 for _, count in threads["pools"]), threads
