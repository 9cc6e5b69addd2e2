"""Speed and peak memory of a model's MD step, measured in one process."""

import pytest

from mlip_lab.data import load
from mlip_lab.distill import count_parameters, md_speed, model_cost, peak_step_memory
from mlip_lab.errors import MLIPLabError


@pytest.fixture(scope="module")
def minima():
    return load("organics_minima")


def test_a_larger_model_needs_more_memory_per_step(make_model, minima):
    small = make_model((1, 6, 7, 8))
    large = make_model((1, 6, 7, 8), n_features=64, n_interactions=2)
    small_peak, large_peak = (peak_step_memory(m, minima, n_replicas=8) for m in (small, large))
    assert 0 < small_peak < large_peak
    assert peak_step_memory(small, minima, n_replicas=32) > small_peak  # activations grow with the batch


def test_model_cost_reports_parameters_speed_and_memory(make_model, minima):
    model = make_model((1, 6, 7, 8))
    cost = model_cost(model, minima, n_replicas=4, n_steps=2)
    assert cost.parameters == count_parameters(model) and cost.atom_steps_per_s > 0 and cost.peak_memory > 0
    with pytest.raises(MLIPLabError, match=r"elements \[7, 8\]"):
        md_speed(make_model((1, 6)), minima, n_replicas=2, n_steps=1)


def test_cpu_memory_measurement_prints_nothing(capfd):
    """The profiler behind it prints "USDT ... profiler_start" lines from C++; a notebook cell must stay clean."""
    from mlip_lab.data import load
    from mlip_lab.distill import STUDENT_CONFIG, build_hipnn, peak_step_memory

    assert peak_step_memory(build_hipnn(STUDENT_CONFIG), load("organics_minima"), n_replicas=2) > 0
    captured = capfd.readouterr()
    assert "USDT" not in captured.err + captured.out
