"""Thread settings of a worker process: one setting caps torch and every BLAS/OpenMP pool."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PROBE = """
import json, threadpoolctl, torch
from intents.classifier import configure_threads
configure_threads(1)
print(json.dumps({"torch": torch.get_num_threads(),
                  "pools": [(p["internal_api"], p["num_threads"]) for p in threadpoolctl.threadpool_info()]}))
"""


def test_configure_threads_caps_torch_and_every_blas_and_openmp_pool():
    """configure_threads(1) leaves torch and the BLAS/OpenMP pools numpy, scipy and scikit-learn use at one
    thread each: otherwise OpenBLAS splits the heads' products over every core and spins while it waits."""
    env = {key: value for key, value in os.environ.items()
           if key not in {"OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"}}  # fmt: skip
    result = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True,
                            check=True, timeout=120)  # fmt: skip
    threads = json.loads(result.stdout.strip().splitlines()[-1])
    assert threads["torch"] == 1
    apis = {api for api, _ in threads["pools"]}
    assert "openblas" in apis or "mkl" in apis, threads
    assert all(count == 1 for _, count in threads["pools"]), threads
