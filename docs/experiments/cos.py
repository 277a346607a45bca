# ruff: noqa: B023, E402, E731  (a throwaway experiment script: closures are used inside their loop iteration)
import json
import time

import torch

from intents.classifier.encoder import default_encoder_path, get_encoder
from intents.classifier.onnx_encoder import OnnxEncoder, export_encoder

torch.set_num_threads(1)
texts = [t for t, _ in json.load(open("../shared/datasets/clinc150/data/data_full.json"))["val"]][:1000]
export_encoder(default_encoder_path(), "/tmp/charla-enc_int8", quantize="int8")
export_encoder(default_encoder_path(), "/tmp/charla-enc_fp32", quantize="none")
t = time.time()
ref = get_encoder().encode(texts, batch_size=1)
tt = (time.time() - t) / len(texts) * 1000
for name in ("fp32", "int8"):
    e = OnnxEncoder(f"/tmp/charla-enc_{name}", threads=1)
    t = time.time()
    out = e.encode(texts, batch_size=1)
    dt = (time.time() - t) / len(texts) * 1000
    cos = (out * ref).sum(1)
    print(name, f"cos mean {cos.mean():.4f} min {cos.min():.4f}", f"ms/sentence {dt:.2f} (torch {tt:.2f})", flush=True)
