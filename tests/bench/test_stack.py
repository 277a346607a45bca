"""bench.stack's summary: which load runs count as sustained throughput, and what each run's failures were."""

from bench.stack import ratios


def _load(throughput, p99, lost=0, out_of_order=0, refused=0):
    failures = {"busy": refused} if refused else {}
    return {"throughput": throughput, "p99_ms": p99, "lost": lost, "duplicated": 0, "out_of_order": out_of_order,
            "refused": refused, "failures": failures}  # fmt: skip


def test_sustained_throughput_is_the_best_run_within_the_p99_bar_and_without_errors():
    result = {
        "model_alone": {"p50_ms": 5.0},
        "modes": {
            "batched": {
                "single": {"p50_ms": 20.0},
                "loads": {60.0: _load(59.8, 80.0), 90.0: _load(89.5, 240.0), 120.0: _load(118.0, 900.0),
                          150.0: _load(149.0, 200.0, out_of_order=1), 180.0: _load(150.0, 210.0, refused=40)},
            },
            "unshed": {"single": {"p50_ms": 30.0}, "loads": {60.0: _load(40.0, 5000.0, lost=300)}},
        },
    }
    out = ratios(result)
    # 118 missed the p99 bar; 149 delivered one out of order; 150 refused 40 messages as busy
    assert out["batched"]["sustained_turns_per_s"] == 89.5
    assert out["batched"]["max_throughput"] == 150.0
    assert out["batched"]["loads"]["180.0"] | {"cpu_ms_per_turn": None} == {
        "throughput": 150.0, "p99_ms": 210.0, "errors": 0, "refused": 40, "failures": {"busy": 40},
        "cpu_ms_per_turn": None}  # fmt: skip
    assert out["batched"]["turn_p50_minus_model_p50_ms"] == 15.0 and out["batched"]["turn_p50_over_model_p50"] == 4.0
    assert out["batched"]["loads"]["150.0"]["errors"] == 1
    assert out["unshed"]["sustained_turns_per_s"] is None
    assert out["batched_over_unshed"]["60.0"] == {"p99_ms": round(80.0 / 5000.0, 2), "throughput": round(59.8 / 40, 2)}


def test_shedding_is_compared_with_the_same_rates_run_without_it():
    """`unshed` (batched, shedding off) is the same run's baseline: p99 and throughput of `batched` over it."""
    result = {
        "model_alone": {"p50_ms": 5.0},
        "modes": {
            "unshed": {"single": {"p50_ms": 20.0}, "loads": {150.0: _load(28.0, 23000.0, lost=600)}},
            "batched": {"single": {"p50_ms": 20.0}, "loads": {150.0: _load(42.0, 4600.0, refused=900)}},
        },
    }
    out = ratios(result)
    assert out["batched_over_unshed"] == {"150.0": {"p99_ms": 0.2, "throughput": 1.5}}
    assert out["batched"]["loads"]["150.0"]["errors"] == 0 and out["unshed"]["loads"]["150.0"]["errors"] == 600
