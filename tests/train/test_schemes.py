"""PHL loss terms and schemes: the HVP and Hessian terms compute what they claim, fixed probes stay fixed,
seeded runs repeat, and every scheme lowers its loss in a few epochs."""

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.data import load
from mlip_lab.physics import harmonic_analysis, masses_of
from mlip_lab.physics.hessians import model_hessian
from mlip_lab.physics.probes import fixed_probes
from mlip_lab.train import SCHEMES, HessianLoss, HVPLoss, Loss, scheme_loss, train_scheme
from mlip_lab.physics.units import EV_KCAL_PER_MOL
from mlip_lab.train.hessian_metrics import curvature_error_table, format_curvature_table, predict_hessians
from mlip_lab.train.metrics import predict_dataset


@pytest.fixture(scope="module")
def minima():
    return load("organics_minima")


@pytest.fixture
def fitted_model(make_model):
    """Factory ``fitted_model(data, seed=0)``: a float64 HIP-NN for data's elements, reference energies fitted to it."""

    def build(data, seed=0):
        model = make_model(elements=data.elements, seed=seed, n_features=10, n_interactions=2, n_atom_layers=3,
                           cutoff=6.0, r_soft_max=5.0)
        model.fit_reference_energies(data.species, data.energies)
        return model

    return build


def _batch(data):
    return next(data.batches(len(data), dtype=torch.float64))


def test_hvp_term_is_the_projected_hessian_error(minima, fitted_model):
    model, batch = fitted_model(minima), _batch(minima)
    term = HVPLoss("rademacher", "fixed", seed=3, metric="mae")
    _, values = Loss([term])(model, batch, training=False)
    probes = fixed_probes(batch.mask, batch.indices, "rademacher", 3, dtype=torch.float64)
    b, n, _ = probes.shape
    difference = model_hessian(model, batch.species, batch.positions) - batch.hessians
    want = (difference @ probes.reshape(b, 3 * n, 1)).reshape(b, n, 3)[batch.mask].abs().mean()
    assert values["hvp_mae"] == pytest.approx(float(want), rel=1e-10)


def test_hvp_term_gives_the_same_loss_and_gradients_by_both_methods(minima, fitted_model):
    batch = _batch(minima)
    results = []
    for method in ("double_backward", "forward_over_reverse"):
        model = fitted_model(minima)
        total, _ = Loss([HVPLoss("gaussian", "fixed", seed=1, method=method)])(model, batch)
        total.backward()
        results.append((total.detach(), [p.grad.clone() for p in model.parameters() if p.grad is not None]))
    assert torch.allclose(results[0][0], results[1][0], rtol=1e-10)
    assert len(results[0][1]) == len(results[1][1])
    for a, b in zip(results[0][1], results[1][1]):
        assert torch.allclose(a, b, atol=1e-8)
    with pytest.raises(MLIPLabError, match="method must be one of"):
        HVPLoss(method="finite_differences")


def test_hessian_term_is_the_element_error_over_real_coordinates(minima, fitted_model):
    model, batch = fitted_model(minima), _batch(minima)
    _, values = Loss([HessianLoss()])(model, batch, training=False)
    difference = model_hessian(model, batch.species, batch.positions) - batch.hessians
    real = batch.mask.repeat_interleave(3, 1)
    want = difference[real[:, :, None] & real[:, None, :]].pow(2).mean().sqrt()
    assert values["hessian_rmse"] == pytest.approx(float(want), rel=1e-10)


def test_redrawn_probes_come_from_the_generator_and_fixed_ones_do_not(minima, fitted_model):
    model, batch = fitted_model(minima), _batch(minima)
    redrawn = Loss([HVPLoss("gaussian", "redrawn")])
    fixed = Loss([HVPLoss("gaussian", "fixed", seed=1)])
    g = torch.Generator().manual_seed(0)
    first, second = (redrawn(model, batch, training=False, generator=g)[0] for _ in range(2))
    assert first != second  # a new probe per call
    assert redrawn(model, batch, training=False, generator=torch.Generator().manual_seed(0))[0] == first
    a, b = (fixed(model, batch, training=False, generator=g)[0] for _ in range(2))
    assert a == b


RUNS = [(name, "redrawn") for name in SCHEMES] + [("E-F-HVP-onehot", "fixed"), ("E-F-HVP-random", "fixed")]


@pytest.mark.parametrize(("name", "probes"), RUNS)
def test_every_scheme_lowers_its_loss(minima, name, probes, fitted_model):
    model = fitted_model(minima)
    loss, batch = scheme_loss(name, probes=probes, seed=2), _batch(minima)

    def evaluate():  # same probes before and after: a freshly seeded generator
        return float(loss(model, batch, training=False, generator=torch.Generator().manual_seed(9))[0].detach())

    before = evaluate()
    trainer = train_scheme(name, model, minima, minima, probes=probes, seed=2, max_epochs=12, batch_size=4,
                           lr=3e-3, progress=False)
    assert set(trainer.history[-1].train) == {*loss.names, "total"}
    assert evaluate() < 0.8 * before


def test_seeded_redrawn_training_repeats(minima, fitted_model):
    runs = [train_scheme("E-F-HVP-random", fitted_model(minima), minima, minima, seed=5, max_epochs=2, batch_size=3,
                         progress=False).history for _ in range(2)]
    assert [r.train for r in runs[0]] == [r.train for r in runs[1]]


def test_scheme_loss_validates_its_arguments():
    assert [t.name for t in scheme_loss("E-F-H").terms] == ["energy_rmse", "forces_rmse", "hessian_rmse"]
    assert scheme_loss("E-F-HVP-onehot").terms[-1].kind == "one_hot"
    assert scheme_loss("E-F-HVP-random", random_kind="rademacher", probes="fixed").terms[-1].regime == "fixed"
    with pytest.raises(MLIPLabError, match="unknown scheme"):
        scheme_loss("E-F-HVP")
    with pytest.raises(MLIPLabError, match="probes must be one of"):
        scheme_loss("E-F", probes="sometimes")
    with pytest.raises(MLIPLabError, match="random_kind"):
        scheme_loss("E-F-HVP-random", random_kind="one_hot")
    with pytest.raises(MLIPLabError, match="unknown weight keys"):
        scheme_loss("E-F", weights={"hvp": 1.0})


def test_curvature_table_is_zero_for_the_reference_and_sees_an_offset(minima, fitted_model):
    model = fitted_model(minima)
    predictions = predict_dataset(model, minima)
    rows = curvature_error_table(minima, predictions, minima.hessians, by="molecule", unit="eV")
    assert all(r["hessian_mae"] == 0 and r["eigenvalue_mae"] == 0 and r["frequency_mae"] == 0 for r in rows)
    shifted = minima.hessians.copy()
    for i, n in enumerate(minima.n_atoms):
        shifted[i, : 3 * n, : 3 * n] += 0.5 * np.eye(3 * n)  # every eigenvalue up by 0.5 eV/Å²
    row = curvature_error_table(minima, predictions, shifted, by=None, unit="eV")[0]
    expected_element = np.mean([0.5 / (3 * n) for n in minima.n_atoms for _ in range(9 * n * n)])
    assert row["hessian_mae"] == pytest.approx(expected_element)
    assert row["eigenvalue_mae"] == pytest.approx(0.5)
    assert row["frequency_mae"] > 0


def test_curvature_table_gives_the_zero_hessian_baseline_and_prints_it(minima, fitted_model):
    predictions = predict_dataset(fitted_model(minima), minima)
    rows = curvature_error_table(minima, predictions, minima.hessians * 1.1, by="molecule", unit="kcal/mol")
    for row in rows:
        chosen = np.flatnonzero(minima.molecule == row["group"]) if row["group"] != "all" else range(len(minima))
        reference = np.concatenate([np.abs(minima.hessians[i, : 3 * n, : 3 * n]).ravel()
                                    for i, n in ((i, minima.n_atoms[i]) for i in chosen)])
        assert row["zero_hessian_mae"] == pytest.approx(reference.mean() * EV_KCAL_PER_MOL)  # padding left out
        assert row["hessian_mae"] == pytest.approx(0.1 * row["zero_hessian_mae"])
    zero = curvature_error_table(minima, predictions, np.zeros_like(minima.hessians), by=None)[0]
    assert zero["hessian_mae"] == pytest.approx(zero["zero_hessian_mae"])  # the baseline is that prediction's error
    text = format_curvature_table(rows)
    assert "H=0" in text.splitlines()[0]
    assert f"{rows[0]['zero_hessian_mae']:9.3f}" in text.splitlines()[1]


def test_predicted_hessians_and_frequencies(minima, fitted_model):
    model = fitted_model(minima)
    hessians = predict_hessians(model, minima, batch_size=3)
    i = int(np.flatnonzero(minima.molecule == "water")[0])
    n = minima.n_atoms[i]
    direct = model_hessian(model, torch.as_tensor(minima.species[i:i + 1, :n]),
                           torch.as_tensor(minima.positions[i:i + 1, :n]))[0].numpy()
    np.testing.assert_allclose(hessians[i, : 3 * n, : 3 * n], direct, atol=1e-10)
    assert np.abs(hessians[i, 3 * n:]).max() == 0
    analysis = harmonic_analysis(minima.hessians[i], minima.positions[i], masses_of(minima.species[i]))
    reference = analysis.frequencies_cm.numpy()
    assert reference.shape == (3,) and 1500 < reference[0] < 1800 and reference[-1] > 3700  # water's modes


