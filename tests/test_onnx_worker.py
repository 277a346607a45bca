"""An answer worker serving the ONNX Runtime int8 backend, chosen by a setting (no worker from another module runs
here)."""

import pytest

from tests.live import stack_env, start_answer_worker, stop
from tests.test_model_hot_swap import send, wait_answered

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def onnx_worker(stack_logs, tmp_path):
    env = stack_env({"CHARLA_INFERENCE_BACKEND": "onnx-int8", "CHARLA_MODEL_CACHE_DIR": str(tmp_path / "cache")})
    process = start_answer_worker(env, stack_logs / "onnx-answer-worker.log")
    yield tmp_path / "cache"
    stop(process)


def test_a_worker_configured_for_onnx_int8_answers_with_the_quantized_encoder(trained_demo_bot, onnx_worker):
    """CHARLA_INFERENCE_BACKEND=onnx-int8: the worker exports the encoder once, before it is ready, and answers with
    it without loading anything more."""
    [message] = wait_answered(send(trained_demo_bot, ["hola, buenos días"], "o"))
    assert (message.intent, message.language, message.reply.intent) == ("greet", "es", "greet")
    assert "model_load_s" not in message.timings
    assert [p.name.endswith("-int8") for p in (onnx_worker / ".encoders").iterdir() if p.is_dir()] == [True]
