"""HIP-NN with sparse pairs (neighbour lists) gives the dense path's numbers; the config's pair-path option."""

import dataclasses

import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.models import HIPNN, HIPNNConfig, load_model, save_model
from mlip_lab.models.hipnn import SPARSE_ABOVE_ATOMS
from mlip_lab.physics import NeighbourList, PairGeometry, forces_from_energy, model_hvp

F64 = torch.float64
ORDERS = (0, 1, 2)
ELEMENTS = (1, 6, 8)
TRICLINIC = torch.tensor([[10.0, 0.0, 0.0], [1.5, 9.5, 0.0], [-1.0, 0.8, 10.5]], dtype=F64)


def dense_and_sparse(tensor_order, seed=0):
    """Two float64 HIP-NN-TS with the same weights; two interactions, so both one-hot and feature inputs run."""
    config = HIPNNConfig(elements=ELEMENTS, n_features=8, n_sensitivities=6, n_interactions=2, n_atom_layers=1,
                         cutoff=4.0, r_soft_max=3.5, tensor_order=tensor_order, pairs="dense")
    torch.manual_seed(seed)
    dense = HIPNN(config).to(F64)
    torch.nn.init.normal_(dense.reference_energies)
    sparse = HIPNN(dataclasses.replace(config, pairs="sparse")).to(F64)
    sparse.load_state_dict(dense.state_dict())
    return dense, sparse


def molecules(seed=0):
    """Three random molecules of 3, 7 and 12 atoms padded to 12, about 1.2 Å apart on average."""
    generator = torch.Generator().manual_seed(seed)
    species = torch.zeros(3, 12, dtype=torch.long)
    for row, size in enumerate((3, 7, 12)):
        species[row, :size] = torch.tensor(ELEMENTS)[torch.randint(0, 3, (size,), generator=generator)]
    positions = torch.rand(3, 12, 3, generator=generator, dtype=F64) * 3.0
    return species, positions, None


def liquid(cell, n, seed=0):
    """Two boxes of ``cell``: n atoms on a jittered grid (no overlaps), and n // 2 of them padded to n."""
    generator = torch.Generator().manual_seed(seed)
    sites = torch.stack(torch.meshgrid(*[torch.arange(6)] * 3, indexing="ij"), -1).reshape(-1, 3).to(F64)
    fractions = []
    for _ in range(2):
        chosen = sites[torch.randperm(len(sites), generator=generator)[:n]]
        fractions.append((chosen + 0.5 + 0.4 * (torch.rand(n, 3, generator=generator, dtype=F64) - 0.5)) / 6)
    positions = torch.stack(fractions) @ cell
    species = torch.tensor(ELEMENTS)[torch.randint(0, 3, (2, n), generator=generator)]
    species[1, n // 2:] = 0
    return species, positions, cell.expand(2, 3, 3)


SYSTEMS = {
    "molecules": molecules,
    "cubic box, 120 atoms": lambda: liquid(torch.eye(3, dtype=F64) * 9.0, 120),
    "triclinic box, 200 atoms": lambda: liquid(TRICLINIC, 200),
}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("system", SYSTEMS)
def test_sparse_energies_and_forces_equal_dense(order, system):
    dense, sparse = dense_and_sparse(order)
    species, positions, cells = SYSTEMS[system]()
    a = dense.predict(species, positions, cells)
    b = sparse.predict(species, positions, cells)
    assert isinstance(sparse.pairs(species, positions, cells), NeighbourList)
    assert isinstance(dense.pairs(species, positions, cells), PairGeometry)
    assert a.forces.abs().max() > 1e-3  # the comparison is not between zeros
    torch.testing.assert_close(b.energy, a.energy, atol=1e-6, rtol=0)
    torch.testing.assert_close(b.atomic_energies, a.atomic_energies, atol=1e-6, rtol=0)
    torch.testing.assert_close(b.layer_energies, a.layer_energies, atol=1e-6, rtol=0)
    torch.testing.assert_close(b.forces, a.forces, atol=1e-6, rtol=0)


def test_training_gradients_and_hessian_vector_products_equal_dense():
    dense, sparse = dense_and_sparse(2, seed=1)
    species, positions, cells = liquid(TRICLINIC, 60)
    grads = []
    for model in (dense, sparse):
        r = positions.clone().requires_grad_(True)
        forces = forces_from_energy(model(species, r, cells).energy, r, create_graph=True)
        model.zero_grad()
        forces.pow(2).sum().backward()  # a force-matching loss: double backward through the pairs
        grads.append([p.grad for p in model.parameters()])  # None where forces do not depend on p (biases)
    assert sum(g is not None for g in grads[0]) > len(grads[0]) // 2
    for g_dense, g_sparse in zip(*grads):
        torch.testing.assert_close(g_sparse, g_dense, atol=1e-6, rtol=1e-6)
    v = torch.randn(positions.shape, generator=torch.Generator().manual_seed(0), dtype=F64)
    reference = model_hvp(dense, species, positions, v, cells)
    for method in ("double_backward", "forward_over_reverse"):
        torch.testing.assert_close(model_hvp(sparse, species, positions, v, cells, method=method), reference,
                                   atol=1e-6, rtol=0)


def test_neighbour_list_rows_index_the_flattened_batch():
    species, positions, _ = molecules()
    pairs = dense_and_sparse(0)[1].pairs(species, positions)
    assert pairs.n_atoms == species.shape[1]
    rows = pairs.batch * pairs.n_atoms + pairs.first
    torch.testing.assert_close(positions.flatten(0, 1)[rows], positions[pairs.batch, pairs.first])


def test_auto_takes_sparse_for_periodic_or_large_batches():
    model = HIPNN(HIPNNConfig(elements=ELEMENTS, cutoff=4.0, r_soft_max=3.5))
    assert model.config.pairs == "auto"
    small = torch.ones(1, 5, dtype=torch.long), torch.rand(1, 5, 3)
    cell = torch.eye(3) * 9.0
    assert isinstance(model.pairs(*small), PairGeometry)
    assert isinstance(model.pairs(*small, cell), NeighbourList)
    assert isinstance(model.pairs(*small, cell, torch.tensor([True, False, False])), NeighbourList)
    assert isinstance(model.pairs(*small, cell, torch.zeros(3, dtype=torch.bool)), PairGeometry)  # not periodic
    n = SPARSE_ABOVE_ATOMS + 1
    assert isinstance(model.pairs(torch.ones(1, n, dtype=torch.long), torch.rand(1, n, 3) * 20), NeighbourList)


def test_sparse_path_refuses_a_cell_too_small_for_the_cutoff():
    _, sparse = dense_and_sparse(0)
    species, positions, _ = liquid(torch.eye(3, dtype=F64) * 7.0, 30)
    with pytest.raises(MLIPLabError, match="half the smallest periodic cell width"):
        sparse.predict(species, positions, torch.eye(3, dtype=F64) * 7.0)


def test_pairs_option_is_checked_saved_and_optional_in_old_configs(tmp_path):
    with pytest.raises(MLIPLabError, match="pairs must be one of"):
        HIPNNConfig(pairs="neighbours")
    config = HIPNNConfig(pairs="sparse")
    assert HIPNNConfig.from_dict(config.to_dict()) == config
    old = config.to_dict()
    del old["pairs"]  # saved before the option existed
    assert HIPNNConfig.from_dict(old) == HIPNNConfig(pairs="auto")
    with pytest.raises(MLIPLabError, match="missing keys \\['eps'\\]"):
        HIPNNConfig.from_dict({k: v for k, v in old.items() if k != "eps"})
    _, sparse = dense_and_sparse(1)
    assert load_model(save_model(sparse, tmp_path / "sparse.pt")).config.pairs == "sparse"
