"""The pairwise force-matched baseline (MS-CG): the spline table, recovery of known pair forces, energy-force
consistency, continuity at the cutoff and at the end of the sampled range, the prior as the wall, bad input."""

import math

import numpy as np
import pytest
import torch

from mlip_lab.cg.pairwise import (
    PairwiseModel, fit_pairwise, pair_index_table, spline_pair_energy, spline_pair_force, tabulated_pair_energy,
)
from mlip_lab.cg.prior import RepulsivePrior, WithPrior, smoothstep_switch
from mlip_lab.data import Dataset
from mlip_lab.errors import MLIPLabError
from mlip_lab.md import ModelForceField, kinetic_energy, make_state, run_md, velocity_verlet
from mlip_lab.models import check_model
from mlip_lab.physics.forces import forces_from_energy
from mlip_lab.physics.geometry import pair_geometry

R_CUT = 4.5  # Å; below half of the 3 x 3.4 Å boxes below


def lattice_frames(n_frames, jitter, species_pattern=(1,), per_side=3, spacing=3.4, seed=0):
    """(species (M, N), positions (M, N, 3) Å, box Å): beads jittered around a simple cubic lattice."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(per_side)] * 3, indexing="ij"), -1).reshape(-1, 3) * spacing
    positions = grid[None] + rng.normal(scale=jitter, size=(n_frames, len(grid), 3))
    species = np.resize(np.asarray(species_pattern), (n_frames, len(grid)))
    return species, positions, per_side * spacing


def labelled(species, positions, box, energy_of_pairs):
    """A CG Dataset whose forces are exact for the pair energy ``energy_of_pairs(r, pair_species) -> eV``."""
    s = torch.as_tensor(species)
    x = torch.as_tensor(positions).requires_grad_(True)
    cells = torch.eye(3, dtype=torch.float64).expand(len(s), 3, 3) * box
    geometry = pair_geometry(s, x, R_CUT, cells)
    pair_species = (s[:, :, None], s[:, None, :])
    energy = 0.5 * torch.where(geometry.mask, energy_of_pairs(geometry.distances, pair_species), 0.0).sum((1, 2))
    forces = forces_from_energy(energy, x)
    m = len(species)
    return Dataset(species=species, positions=positions, forces=forces.numpy(), cells=cells.numpy().copy(),
                   pbc=np.ones((m, 3), bool), category=np.full(m, "cg"), temperature=np.full(m, 300.0),
                   molecule=np.full(m, "test liquid"))


def lennard_jones(r, pair_species=None, epsilon=0.02, sigma=3.0):
    """4 eps ((s/r)^12 - (s/r)^6), switched off smoothly between 3.5 Å and R_CUT (eV)."""
    x = (sigma / r) ** 6
    return 4 * epsilon * (x * x - x) * smoothstep_switch(r, 3.5, R_CUT)


@pytest.fixture(scope="module")
def lj_frames():
    return labelled(*lattice_frames(40, jitter=0.25), lennard_jones)  # closest pair 2.2 Å


def basis_functions(r, r_min=1.0, r_cut=4.0, n_basis=6):
    """Each basis function on its own: psi_k(r) and phi_k(r) as (R, K), from unit coefficient rows."""
    grid = r[:, None].expand(-1, n_basis)
    pair = torch.arange(n_basis).expand(len(r), n_basis)
    unit = torch.eye(n_basis, dtype=r.dtype)
    return (spline_pair_energy(grid, pair, unit, r_min, r_cut), spline_pair_force(grid, pair, unit, r_min, r_cut))


def test_energy_basis_integrates_the_force_basis_and_vanishes_at_the_cutoff():
    r = torch.linspace(0.0, 5.0, 501, dtype=torch.float64).requires_grad_(True)
    psi, phi = basis_functions(r)
    derivative = torch.stack([torch.autograd.grad(psi[:, k].sum(), r, retain_graph=True)[0] for k in range(6)], 1)
    psi, phi = psi.detach(), phi.detach()
    assert torch.allclose(-derivative, phi, atol=1e-12)
    beyond = r.detach() >= 4.0
    assert psi[beyond].abs().max() == 0 and phi[beyond].abs().max() == 0
    # At r = 0 every psi_k holds its whole integral h = 0.5 Å but the first one (centred at 0.5 Å), which
    # reaches down to -0.5 Å: it misses the integral of its tail below -1 in units of h, 1/24.
    assert psi[0].tolist() == pytest.approx([0.5 * 23 / 24] + [0.5] * 5)
    assert float(phi[0, 0]) == pytest.approx(1 / 6)  # one h below the first centre
    # B-splines sum to one from r_min to r_cut - 3h, beyond which they are cut off to vanish at r_cut.
    total = phi.sum(-1)
    inside = (r.detach() >= 1.0) & (r.detach() <= 2.5)
    assert torch.allclose(total[inside], torch.ones_like(total[inside]))
    assert total[350] == pytest.approx(1 / 6)  # r = 3.5 Å = r_cut - h: only the last function's tail is left


def test_pair_index_table_numbers_unordered_pairs():
    assert pair_index_table(3).tolist() == [[0, 1, 2], [1, 3, 4], [2, 4, 5]]
    assert PairwiseModel((1, 6, 8), 1.0, 4.0, 4).type_pairs == [(1, 1), (1, 6), (1, 8), (6, 6), (6, 8), (8, 8)]


def test_a_pair_force_in_the_spline_space_is_recovered_exactly_for_two_bead_types():
    generator = torch.Generator().manual_seed(3)
    truth = PairwiseModel((1, 2), r_min=2.0, r_cut=R_CUT, n_basis=10,
                          coefficients=torch.randn(3, 10, dtype=torch.float64, generator=generator))
    # Large jitter: some pairs come closer than r_min, where the table's force is held constant.
    species, positions, box = lattice_frames(30, jitter=0.6, species_pattern=(1, 2))
    frames = labelled(species, positions, box, lambda r, pair: tabulated_pair_energy(
        r, truth.pair_lookup[pair[0] - 1, pair[1] - 1], truth.coefficients.detach(), truth.r_low, 2.0, R_CUT))
    fit = fit_pairwise(frames, R_CUT, 10, r_min=2.0, ridge=0.0, progress=False)
    assert fit.model is fit.table and fit.n_force_components == frames.forces.size
    assert torch.allclose(fit.table.coefficients, truth.coefficients, atol=1e-8)
    assert fit.force_rmse < 1e-6
    predicted = fit.model.predict(torch.as_tensor(species), torch.as_tensor(positions),
                                  torch.as_tensor(frames.cells), torch.as_tensor(frames.pbc)).forces
    assert torch.allclose(predicted, torch.as_tensor(frames.forces), atol=1e-8)
    assert float(frames.forces.std()) > 0.1  # not a trivially small target


def test_a_lennard_jones_like_force_is_recovered_on_the_sampled_range(lj_frames):
    fit = fit_pairwise(lj_frames, R_CUT, 30, progress=False)
    smallest = float(fit.table.r_low[0])
    geometry = pair_geometry(torch.as_tensor(lj_frames.species), torch.as_tensor(lj_frames.positions), R_CUT,
                             torch.as_tensor(lj_frames.cells))
    assert smallest == pytest.approx(float(geometry.distances[geometry.mask].min()))
    # Compare where every grid interval holds many samples: above the 1st percentile of the sampled distances.
    start = float(torch.quantile(geometry.distances[geometry.mask], 0.01))
    r = torch.linspace(start, R_CUT, 200, dtype=torch.float64).requires_grad_(True)
    (gradient,) = torch.autograd.grad(lennard_jones(r).sum(), r)
    exact, fitted = -gradient, fit.table.pair_force(r.detach(), 1, 1)
    scale = float(exact.abs().max())
    assert float((fitted - exact).abs().max()) < 0.02 * scale
    assert fit.force_rmse < 0.01 * float(np.sqrt((lj_frames.forces**2).mean()))


def test_reported_rmse_is_the_models_force_error_on_the_frames_with_a_prior(lj_frames):
    prior = RepulsivePrior(taper=2.6, decay=0.05, energy_at_taper=0.01, cutoff=3.2)  # overlaps the data
    fit = fit_pairwise(lj_frames, R_CUT, 12, ridge=1e-6, prior=prior, progress=False)
    assert isinstance(fit.model, WithPrior) and fit.model.prior is prior and fit.model.model is fit.table
    predicted = fit.model.predict(torch.as_tensor(lj_frames.species), torch.as_tensor(lj_frames.positions),
                                  torch.as_tensor(lj_frames.cells)).forces
    actual = float(((predicted - torch.as_tensor(lj_frames.forces)) ** 2).mean().sqrt())
    assert fit.force_rmse == pytest.approx(actual, rel=1e-6)
    assert fit.force_rmse > 1e-4  # 12 splines cannot represent the prior's steep exponential: a real residual


def test_the_prior_is_the_wall_below_the_sampled_distances(lj_frames):
    prior = RepulsivePrior(taper=1.6, decay=0.05, energy_at_taper=0.005, cutoff=2.1)  # ends below every sample
    without = fit_pairwise(lj_frames, R_CUT, 30, progress=False)
    with_prior = fit_pairwise(lj_frames, R_CUT, 30, prior=prior, progress=False)
    assert torch.allclose(with_prior.table.coefficients, without.table.coefficients)
    # Below the data the table alone only holds its last force; with the prior two beads cannot meet.
    low = float(without.table.r_low[0])
    r = torch.tensor([1.0, 1.5, low - 0.1], dtype=torch.float64)
    table_force = without.table.pair_force(r, 1, 1)
    assert torch.allclose(table_force, table_force[-1].expand(3))
    assert float(table_force[0] + prior.pair_force(r)[0]) > 100 * float(table_force[0].abs())


def test_forces_are_minus_the_gradient_of_the_energy_also_below_r_low(lj_frames):
    model = fit_pairwise(lj_frames, R_CUT, 20, progress=False).table
    with torch.no_grad():
        model.r_low.fill_(2.8)  # so that some pairs lie in the constant-force continuation
    species = torch.as_tensor(lj_frames.species[:1])
    positions = torch.as_tensor(lj_frames.positions[:1])
    cells = torch.as_tensor(lj_frames.cells[:1])
    forces = model.predict(species, positions, cells).forces[0]
    step = 1e-5
    for atom, axis in [(0, 0), (4, 1), (13, 2), (26, 0)]:
        shift = torch.zeros_like(positions)
        shift[0, atom, axis] = step
        plus = model.predict(species, positions + shift, cells, forces=False).energy
        minus = model.predict(species, positions - shift, cells, forces=False).energy
        assert float(forces[atom, axis]) == pytest.approx(-float(plus - minus) / (2 * step), abs=1e-7)


def test_energy_and_force_are_continuous_at_the_cutoff_and_at_r_low():
    generator = torch.Generator().manual_seed(0)
    model = PairwiseModel((1,), 2.0, 4.0, 8, coefficients=torch.randn(1, 8, dtype=torch.float64, generator=generator))
    with torch.no_grad():
        model.r_low.fill_(2.7)
    eps = 1e-6
    for r0 in (4.0, 2.7):
        r = torch.tensor([r0 - eps, r0 + eps], dtype=torch.float64)
        energy, force = model.pair_energy(r, 1, 1), model.pair_force(r, 1, 1)
        assert abs(float(energy[0] - energy[1])) < 1e-5 and abs(float(force[0] - force[1])) < 1e-4
    assert float(model.pair_energy(torch.tensor(4.0 - eps, dtype=torch.float64), 1, 1).abs()) < 1e-12
    assert float(model.pair_force(torch.tensor(4.0 - eps, dtype=torch.float64), 1, 1).abs()) < 1e-9
    assert model.pair_energy(torch.tensor([4.0, 5.0], dtype=torch.float64), 1, 1).abs().max() == 0


def test_atomic_energies_are_half_of_each_pair_plus_reference_energies():
    generator = torch.Generator().manual_seed(1)
    model = PairwiseModel((1, 8), 0.5, 3.0, 6, coefficients=torch.randn(3, 6, dtype=torch.float64, generator=generator))
    model.fit_reference_energies(torch.tensor([[8, 0], [1, 1]]), torch.tensor([-5.0, -2.0]))
    assert model.reference_energies.tolist() == pytest.approx([-1.0, -5.0])
    species, positions = torch.tensor([[8, 1, 0]]), torch.tensor([[[0.0, 0, 0], [0, 0, 1.2], [9, 9, 9]]],
                                                                 dtype=torch.float64)
    out = model.predict(species, positions, forces=False)
    pair = float(model.pair_energy(torch.tensor(1.2, dtype=torch.float64), 1, 8))
    assert out.atomic_energies[0].tolist() == pytest.approx([-5.0 + pair / 2, -1.0 + pair / 2, 0.0])
    assert float(out.energy[0]) == pytest.approx(-6.0 + pair)
    assert check_model(model) is model


def test_chunking_does_not_change_the_fit(lj_frames):
    whole = fit_pairwise(lj_frames, R_CUT, 12, progress=False)
    one_by_one = fit_pairwise(lj_frames, R_CUT, 12, chunk_frames=1, progress=False)
    assert torch.allclose(whole.table.coefficients, one_by_one.table.coefficients, atol=1e-10)
    assert whole.force_rmse == pytest.approx(one_by_one.force_rmse, rel=1e-8)


def test_nve_md_with_the_fitted_table_and_a_prior_conserves_energy_to_second_order_in_the_timestep(lj_frames):
    prior = RepulsivePrior(taper=2.5, decay=0.05, energy_at_taper=0.005, cutoff=3.0)
    force_field = ModelForceField(fit_pairwise(lj_frames, R_CUT, 20, prior=prior, progress=False).model)
    state = make_state(lj_frames.species[:2], lj_frames.positions[:2], temperatures=300.0,
                       masses=np.full(lj_frames.species[:2].shape, 32.042), cells=lj_frames.cells[:2],
                       dtype=torch.float64)
    start = force_field(state.species, state.positions, state.cells, state.pbc)[0] + kinetic_energy(state.masses,
                                                                                                    state.velocities)
    errors = []
    for timestep in (1.0, 0.5):
        result = run_md(state, velocity_verlet(force_field, timestep), int(200 / timestep), progress=False)
        assert not result.blow_ups
        end = result.state.energies + kinetic_energy(result.state.masses, result.state.velocities)
        errors.append(float((end - start).abs().max()))
    # Beads cross the cutoffs of table and prior many times in 200 fs. Smooth potentials leave velocity Verlet's
    # error ~ dt^2 (4x smaller for half the step); a jump in energy or force at a cutoff would not shrink so.
    assert errors[1] < errors[0] / 3 and errors[0] < 0.02 * float(kinetic_energy(state.masses, state.velocities).min())


# --------------------------------------------------------------------------- bad input


def test_a_dataset_without_forces_is_refused(lj_frames):
    energies_only = Dataset(species=lj_frames.species, positions=lj_frames.positions,
                            energies=np.zeros(len(lj_frames)), cells=lj_frames.cells, pbc=lj_frames.pbc)
    with pytest.raises(MLIPLabError, match="no forces"):
        fit_pairwise(energies_only, R_CUT, 10, progress=False)


def test_a_cutoff_beyond_half_the_box_is_refused(lj_frames):
    with pytest.raises(MLIPLabError, match="exceeds half the smallest periodic cell width"):
        fit_pairwise(lj_frames, 5.2, 10, progress=False)


def test_too_few_force_components_without_ridge_are_refused():
    species, positions, box = lattice_frames(1, jitter=0.3, per_side=2, spacing=4.6)  # 8 beads: 24 components
    frames = labelled(species, positions, box, lennard_jones)
    with pytest.raises(MLIPLabError, match="24 force components cannot determine 30 coefficients"):
        fit_pairwise(frames, R_CUT, 30, ridge=0.0, progress=False)
    assert math.isfinite(fit_pairwise(frames, R_CUT, 30, ridge=1e-6, progress=False).force_rmse)


def test_frames_without_pairs_within_the_cutoff_are_refused():
    species, positions, box = lattice_frames(3, jitter=0.0, per_side=2, spacing=4.6)  # neighbours 4.6 Å apart
    frames = labelled(species, positions, box, lennard_jones)
    for r_min in (None, 1.0):
        with pytest.raises(MLIPLabError, match="no two beads of the dataset are closer than r_cut"):
            fit_pairwise(frames, R_CUT, 10, r_min=r_min, progress=False)


def test_basis_functions_without_data_need_a_ridge(lj_frames):
    with pytest.raises(MLIPLabError, match="singular"):
        fit_pairwise(lj_frames, R_CUT, 20, r_min=0.5, ridge=0.0, progress=False)
    fit = fit_pairwise(lj_frames, R_CUT, 20, r_min=0.5, progress=False)  # the default small ridge
    assert fit.force_rmse < 0.05 * float(np.sqrt((lj_frames.forces**2).mean()))


@pytest.mark.parametrize("arguments, message", [
    (dict(n_basis=0), "n_basis must be a positive integer"),
    (dict(ridge=-1.0), "ridge must be a number >= 0"),
    (dict(r_min=5.0), "need 0 < r_min < r_cut"),
    (dict(prior="wall"), "prior must be a RepulsivePrior"),
])
def test_bad_fit_arguments_are_named(lj_frames, arguments, message):
    with pytest.raises(MLIPLabError, match=message):
        fit_pairwise(lj_frames, R_CUT, **{"n_basis": 10, "progress": False, **arguments})


def test_bad_models_and_species_are_named():
    with pytest.raises(MLIPLabError, match="coefficients must be a floating"):
        PairwiseModel((1, 2), 1.0, 4.0, 5, coefficients=torch.zeros(2, 5))
    with pytest.raises(MLIPLabError, match="elements must be distinct"):
        PairwiseModel((1, 1), 1.0, 4.0, 5)
    model = PairwiseModel((1,), 1.0, 4.0, 5)
    with pytest.raises(MLIPLabError, match=r"species \[2\] are not among"):
        model.predict(torch.tensor([[1, 2]]), torch.zeros(1, 2, 3))
    with pytest.raises(MLIPLabError, match="not a pair of this model's elements"):
        model.pair_energy(torch.tensor([2.0]), 1, 3)


def test_pair_models_on_a_large_box_allocate_no_more_than_their_neighbour_list():
    """The pairwise table and the prior sum over a neighbour list (memory ~ N x neighbours): on a 3000-bead box
    their energy + forces allocate no block larger than the neighbour search itself, and far less than one dense
    (N, N) float64 tensor."""
    from mlip_lab.cg.prior import RepulsivePrior
    from mlip_lab.physics import neighbour_list

    n = 3000
    length = (n / 0.0148) ** (1 / 3)  # liquid methanol's bead density: 58 Å
    positions = torch.rand(1, n, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64) * length
    species, cells = torch.ones(1, n, dtype=torch.long), torch.eye(3, dtype=torch.float64)[None] * length
    table = PairwiseModel((1,), 2.0, 8.0, 10, torch.randn(1, 10, dtype=torch.float64))
    prior = RepulsivePrior(taper=3.0, decay=0.05, energy_at_taper=0.01, cutoff=3.5)

    def largest_block(energy_of):
        with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU], profile_memory=True) as profile:
            x = positions.clone().requires_grad_(True)
            torch.autograd.grad(energy_of(x).sum(), x)
        return max(event.cpu_memory_usage for event in profile.events())

    search = largest_block(lambda x: neighbour_list(species, x, 8.0, cells).distances)
    assert largest_block(lambda x: table(species, x, cells).energy) <= search
    assert largest_block(lambda x: prior(species, x, cells)) <= search
    assert search < 8 * n * n
