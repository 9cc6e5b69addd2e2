"""The repulsive prior (the reference recipe from an RDF and the mean force) and WithPrior, which adds it to a model."""

import math

import numpy as np
import pytest
import torch

from mlip_lab.cg.prior import (
    RepulsivePrior, WithPrior, exponential_repulsion, fit_repulsive_prior, mean_force_magnitude, taper_point,
)
from mlip_lab.errors import MLIPLabError
from mlip_lab.models import check_model

R = np.arange(0.02, 8.0, 0.02)


def rdf(onset=2.9):
    """A liquid-like g(r): zero, a sub-threshold blip at 2.5 Å, then rising past the 0.01 threshold at ``onset``."""
    g = np.where(R >= onset, 1.0 - np.exp(-(R - onset + 0.02) * 3), 0.0)
    g[np.argmin(abs(R - 2.5))] = 0.005
    return g


def test_the_fitted_prior_follows_the_reference_recipe():
    mean_force = 0.9
    prior = fit_repulsive_prior(R, rdf(), mean_force)
    taper = float(R[np.flatnonzero(rdf() > 0.01)[0]])
    assert float(prior.taper) == pytest.approx(taper) and taper == pytest.approx(2.9)
    assert prior.force_at(taper) == pytest.approx(0.05 * mean_force, rel=1e-9)
    assert prior.force_at(taper - 0.15) == pytest.approx(mean_force, rel=1e-9)
    assert float(prior.decay) == pytest.approx(0.15 / math.log(20))
    assert float(prior.cutoff) == pytest.approx(taper + 0.5)
    # The equivalent A exp(-r / l) form.
    r = torch.tensor([2.0, 2.7], dtype=torch.float64)
    assert torch.allclose(prior.pair_energy(r), prior.amplitude * torch.exp(-r / prior.decay))
    assert "0.05007 Å" in repr(prior) and "2.9 Å" in repr(prior)


def test_the_recipe_numbers_are_arguments():
    prior = fit_repulsive_prior(R, rdf(), 2.0, threshold=0.5, onset_fraction=0.1, inner_distance=0.3)
    taper = float(R[np.flatnonzero(rdf() > 0.5)[0]])
    assert float(prior.taper) == pytest.approx(taper)
    assert prior.force_at(taper) == pytest.approx(0.2) and prior.force_at(taper - 0.3) == pytest.approx(2.0)


def test_energy_force_and_curvature_go_to_zero_smoothly_at_the_cutoff():
    prior = RepulsivePrior(taper=3.0, decay=0.2, energy_at_taper=0.5, cutoff=3.5)  # a slow decay: the switch matters
    eps = 1e-4
    r = torch.tensor([3.5 - eps], dtype=torch.float64).requires_grad_(True)
    energy = prior.pair_energy(r)
    (first,) = torch.autograd.grad(energy.sum(), r, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), r)
    assert abs(float(energy.detach())) < 1e-10 and abs(float(first.detach())) < 1e-6 and abs(float(second)) < 1e-2
    assert prior.pair_energy(torch.tensor([3.5, 4.0, 9.0], dtype=torch.float64)).abs().max() == 0
    inside = torch.tensor([1.0, 2.5, 3.0], dtype=torch.float64)
    assert torch.allclose(prior.pair_energy(inside), 0.5 * torch.exp(-(inside - 3.0) / 0.2))
    assert float(prior.pair_energy(torch.tensor(3.25, dtype=torch.float64))) < 0.5 * math.exp(-0.25 / 0.2)


def test_atomic_energies_take_half_of_each_pair_with_minimum_image_and_padding():
    prior = RepulsivePrior(taper=1.0, decay=0.1, energy_at_taper=0.02, cutoff=1.5)
    box = 6.0
    species = torch.tensor([[1, 1, 1, 0]])
    positions = torch.tensor([[[0.3, 0, 0], [box - 0.4, 0, 0], [3.0, 3.0, 3.0], [0.0, 0.0, 0.0]]], dtype=torch.float64)
    atomic = prior(species, positions, torch.eye(3, dtype=torch.float64)[None] * box)
    pair = float(exponential_repulsion(torch.tensor(0.7, dtype=torch.float64), 1.0, 0.1, 0.02, 1.5))
    assert atomic[0].tolist() == pytest.approx([pair / 2, pair / 2, 0.0, 0.0])
    assert prior(species, positions)[0].abs().max() == 0  # without the cell they are 5.3 Å apart


def test_mean_force_magnitude_skips_padding():
    forces = np.array([[[3.0, 4.0, 0.0], [0.0, 0.0, 1.0], [9.0, 9.0, 9.0]]])
    assert mean_force_magnitude(forces, np.array([[1, 1, 0]])) == pytest.approx(3.0)
    with pytest.raises(MLIPLabError, match="do not match"):
        mean_force_magnitude(forces, np.array([1, 1, 0]))
    with pytest.raises(MLIPLabError, match="no real beads"):
        mean_force_magnitude(forces, np.zeros((1, 3), int))


def test_with_prior_adds_the_prior_to_energies_atomic_energies_and_forces(make_model):
    hipnn = make_model((1, 6, 8), tensor_order=1)
    prior = RepulsivePrior(taper=1.2, decay=0.1, energy_at_taper=0.05, cutoff=1.8)
    model = WithPrior(hipnn, prior)
    assert check_model(model) is model and model.elements == (1, 6, 8)
    assert [p.data_ptr() for p in model.parameters()] == [p.data_ptr() for p in hipnn.parameters()]
    species = torch.tensor([[8, 1, 1, 0], [6, 1, 0, 0]])
    positions = torch.tensor([[[0, 0, 0.12], [0, 0.76, -0.47], [0, -0.76, -0.47], [0, 0, 0]],
                              [[0, 0, 0], [0, 0, 1.09], [0, 0, 0], [0, 0, 0]]], dtype=torch.float64)
    out, alone = model.predict(species, positions), hipnn.predict(species, positions)
    prior_atomic = prior(species, positions)
    assert prior_atomic.abs().min(-1).values.sum() == 0 and prior_atomic.sum() > 0  # the prior acts, padding is zero
    assert torch.allclose(out.atomic_energies, alone.atomic_energies + prior_atomic)
    assert torch.allclose(out.energy, alone.energy + prior_atomic.sum(-1))
    assert torch.equal(out.layer_energies, alone.layer_energies)
    # Forces: the model's plus the prior's pair forces, each along the pair (here O-H1 of the water).
    x = positions.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(prior(species, x).sum(), x)
    assert torch.allclose(out.forces, alone.forces - gradient)
    assert float((out.forces - alone.forces).abs().max()) > 1e-3


def test_with_prior_fits_the_models_reference_energies_and_follows_its_dtype(make_model):
    hipnn = make_model((1, 8), dtype=torch.float32)
    model = WithPrior(hipnn, RepulsivePrior(taper=1.0, decay=0.1, energy_at_taper=0.05, cutoff=1.5).to(torch.float32))
    model.fit_reference_energies(torch.tensor([[8, 1, 1], [1, 1, 0]]), torch.tensor([-10.0, -2.0]))
    assert hipnn.reference_energies.tolist() == pytest.approx([-1.0, -8.0])
    out = model.predict(torch.tensor([[8, 1]]), torch.tensor([[[0.0, 0, 0], [0, 0, 0.9]]]))
    assert out.energy.dtype == torch.float32 and out.forces.dtype == torch.float32


@pytest.mark.parametrize("r, g, mean_force, message", [
    (R, np.zeros_like(R), 1.0, "never exceeds 0.01"),
    (R, np.ones_like(R), 1.0, "already exceeds 0.01 at the first grid point"),
    (R[::-1], rdf()[::-1], 1.0, "strictly increasing"),
    (R, rdf()[:-1], 1.0, "same length"),
    (R, np.where(R > 5, np.nan, rdf()), 1.0, "NaN or inf"),
    (R, rdf(), 0.0, "must be a positive number"),
    (R, rdf(), float("nan"), "must be a positive number"),
    (R / 100, rdf(), 1.0, "not beyond inner_distance"),
])
def test_bad_rdfs_and_forces_are_named(r, g, mean_force, message):
    with pytest.raises(MLIPLabError, match=message):
        fit_repulsive_prior(r, g, mean_force)


def test_bad_priors_and_wrappers_are_named(make_model):
    with pytest.raises(MLIPLabError, match="onset_fraction"):
        fit_repulsive_prior(R, rdf(), 1.0, onset_fraction=1.5)
    with pytest.raises(MLIPLabError, match="decay must be a positive number"):
        RepulsivePrior(taper=1.0, decay=-0.1, energy_at_taper=0.05, cutoff=1.5)
    with pytest.raises(MLIPLabError, match="must lie beyond its taper point"):
        RepulsivePrior(taper=2.0, decay=0.1, energy_at_taper=0.05, cutoff=1.5)
    with pytest.raises(MLIPLabError, match="needs a RepulsivePrior"):
        WithPrior(make_model((1,)), lambda r: r)
    with pytest.raises(MLIPLabError, match="model contract"):
        WithPrior(torch.nn.Linear(2, 2), RepulsivePrior(taper=1.0, decay=0.1, energy_at_taper=0.05, cutoff=1.5))
    assert taper_point(R, rdf()) == pytest.approx(2.9)
