"""HIP-NN / HIP-NN-TS: forces, symmetries, padding, periodic cells, reference energies, ensembles, files."""

import copy

import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.data import Batch
from mlip_lab.models import Ensemble, HIPNNConfig, hierarchicality, load_model, save_model

F64 = torch.float64
ORDERS = (0, 1, 2)

# Methane and water, slightly distorted so that no symmetry hides a wrong term.
METHANE = ([6, 1, 1, 1, 1], [[0.0, 0.0, 0.0], [0.63, 0.63, 0.63], [-0.6, -0.66, 0.62], [-0.64, 0.6, -0.6],
                             [0.62, -0.63, -0.65]])
WATER = ([8, 1, 1], [[0.0, 0.0, 0.12], [0.0, 0.77, -0.47], [0.05, -0.75, -0.49]])


@pytest.fixture
def tiny_model(make_model):
    """Factory ``tiny_model(tensor_order=0, seed=0, **overrides)``: a float64 H/C/O HIP-NN, two interactions."""

    def build(tensor_order=0, seed=0, **overrides):
        settings = dict(elements=(1, 6, 8), n_features=6, n_sensitivities=5, n_interactions=2, n_atom_layers=2)
        return make_model(tensor_order=tensor_order, seed=seed, **{**settings, **overrides})

    return build


def molecules(*mols):
    """Pad molecules into (species (B, N), positions (B, N, 3))."""
    n = max(len(m[0]) for m in mols)
    species = torch.zeros(len(mols), n, dtype=torch.long)
    positions = torch.zeros(len(mols), n, 3, dtype=F64)
    for b, (z, r) in enumerate(mols):
        species[b, : len(z)] = torch.tensor(z)
        positions[b, : len(z)] = torch.tensor(r, dtype=F64)
    return species, positions


def random_rotation(seed=1):
    q, r = torch.linalg.qr(torch.randn(3, 3, dtype=F64, generator=torch.Generator().manual_seed(seed)))
    q = q * torch.sign(torch.diagonal(r))
    return q if torch.linalg.det(q) > 0 else -q


@pytest.mark.parametrize("order", ORDERS)
def test_forces_equal_minus_finite_difference_gradient(order, tiny_model):
    model = tiny_model(order)
    species, positions = molecules(METHANE)
    predicted = model.predict(species, positions).forces
    h = 1e-5
    numeric = torch.zeros_like(positions)
    for atom in range(5):
        for axis in range(3):
            step = torch.zeros_like(positions)
            step[0, atom, axis] = h
            with torch.no_grad():
                up, down = model(species, positions + step).energy, model(species, positions - step).energy
            numeric[0, atom, axis] = -(up - down) / (2 * h)
    assert predicted.abs().max() > 1e-4  # a model with no forces would pass trivially
    assert torch.allclose(predicted, numeric, atol=1e-8, rtol=1e-6)


@pytest.mark.parametrize("order", ORDERS)
def test_energy_invariant_and_forces_equivariant_under_rotation_and_translation(order, tiny_model):
    model = tiny_model(order)
    species, positions = molecules(METHANE, WATER)
    rotation = random_rotation()
    moved = positions @ rotation.T + torch.tensor([1.5, -2.0, 0.7], dtype=F64)
    before, after = model.predict(species, positions), model.predict(species, moved)
    assert torch.allclose(before.energy, after.energy, atol=1e-10)
    assert torch.allclose(before.forces @ rotation.T, after.forces, atol=1e-10)
    assert torch.allclose(before.atomic_energies, after.atomic_energies, atol=1e-10)


@pytest.mark.parametrize("order", ORDERS)
def test_energy_invariant_and_forces_follow_permutation_of_atoms(order, tiny_model):
    model = tiny_model(order)
    species, positions = molecules(METHANE)
    perm = torch.tensor([3, 0, 4, 2, 1])
    before = model.predict(species, positions)
    after = model.predict(species[:, perm], positions[:, perm])
    assert torch.allclose(before.energy, after.energy, atol=1e-10)
    assert torch.allclose(before.forces[:, perm], after.forces, atol=1e-10)
    assert torch.allclose(before.atomic_energies[:, perm], after.atomic_energies, atol=1e-10)


@pytest.mark.parametrize("order", ORDERS)
def test_padding_changes_nothing(order, tiny_model):
    model = tiny_model(order)
    alone = model.predict(*molecules(WATER))
    padded = model.predict(*molecules(METHANE, WATER))
    assert torch.allclose(alone.energy[0], padded.energy[1], atol=1e-12)
    assert torch.allclose(alone.forces[0], padded.forces[1, :3], atol=1e-12)
    assert torch.allclose(alone.layer_energies[0], padded.layer_energies[1], atol=1e-12)
    assert not padded.forces[1, 3:].any() and not padded.atomic_energies[1, 3:].any()


def test_outputs_are_consistent_and_tensor_orders_differ(tiny_model):
    species, positions = molecules(METHANE, WATER)
    outputs = [tiny_model(order).predict(species, positions) for order in ORDERS]
    for out in outputs:
        assert out.layer_energies.shape == (2, 3)  # one-hot input + two interaction blocks
        assert torch.allclose(out.atomic_energies.sum(1), out.energy)
        assert torch.allclose(out.layer_energies.sum(1), out.energy)  # reference energies are still zero
    assert not torch.allclose(outputs[0].energy, outputs[1].energy)
    assert not torch.allclose(outputs[1].energy, outputs[2].energy)


def test_residual_blocks_wrap_every_layer_the_way_hippynn_does(tiny_model):
    plain, resnet = tiny_model(0, residual=False), tiny_model(0, residual=True)
    n_params = [sum(p.numel() for p in m.parameters()) for m in (plain, resnet)]
    features, elements, layers_per_block = 6, 3, 1 + 2  # the interaction and two atom layers
    # One extra Linear(F, F) per layer of both blocks, and the one-hot input's map to F features (no bias).
    assert n_params[1] - n_params[0] == 2 * layers_per_block * (features * features + features) + elements * features
    with torch.no_grad():  # without their residual parts every layer passes its (adjusted) input through
        for block in resnet.blocks:
            for layer in (block.interaction, *block.atom_layers):
                layer.residual.linear.weight.zero_()
                layer.residual.linear.bias.zero_()
    species, positions = molecules(METHANE, WATER)
    out = resnet(species, positions)
    one_hot = torch.nn.functional.one_hot(resnet.element_indices(species).clamp(min=0), elements).to(F64)
    features_0 = resnet.blocks[0].interaction.residual.adjust(one_hot) * (species > 0)[..., None]
    expected = (resnet.energy_heads[1](features_0).squeeze(-1) * (species > 0)).sum(1)
    torch.testing.assert_close(out.layer_energies[:, 1], expected)


@pytest.mark.parametrize("order", (1, 2))
def test_tensor_terms_share_the_scalar_interaction_weights(order, tiny_model):
    # With zero tensor scales HIP-NN-TS must reduce exactly to HIP-NN with the same weights.
    ts, plain = tiny_model(order), tiny_model(0, seed=5)
    with torch.no_grad():
        for block in ts.blocks:
            block.interaction.tensor_scales.zero_()
    state = {k: v for k, v in ts.state_dict().items() if "tensor_scales" not in k}
    plain.load_state_dict(state, strict=False)
    species, positions = molecules(METHANE, WATER)
    assert torch.allclose(ts(species, positions).energy, plain(species, positions).energy, atol=1e-12)


def _graph_node_names(tensor):
    """Names of every autograd node that ``tensor`` was computed through."""
    seen, stack, names = set(), [tensor.grad_fn], []
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.append(type(node).__name__)
        stack.extend(next_node for next_node, _ in node.next_functions)
    return names


@pytest.mark.parametrize("order", [0, 2])
def test_atom_layers_add_no_reshapes_to_the_energy_graph(order, tiny_model):
    # A force-trained step differentiates this graph twice, and each view or copy node costs a dispatch both times
    # (about a seventh of an order-0 step before atom rows became 2-d): deeper stacks must add only real work.
    species, positions = molecules(METHANE, WATER)
    reshapes = {"ViewBackward0", "UnsafeViewBackward0", "CloneBackward0", "PermuteBackward0", "TransposeBackward0"}
    counts = []
    for layers in (1, 4):
        model = tiny_model(order, n_atom_layers=layers, residual=True)
        energy = model(species, positions.clone().requires_grad_(True)).energy
        counts.append(sum(name in reshapes for name in _graph_node_names(energy)))
    assert counts[0] == counts[1], counts


def test_sensitivities_can_sit_before_the_neighbour_axis(tiny_model):
    sensitivity = tiny_model(0).blocks[0].interaction.sensitivity
    distances = torch.rand(2, 4, 4, dtype=F64) * 4.0 + 0.5
    mask = distances < 3.0
    last = sensitivity(distances, mask)  # (B, N, N, S)
    assert last.shape == (2, 4, 4, 5) and bool((last[~mask] == 0).all())
    torch.testing.assert_close(sensitivity(distances, mask, dim=-2), last.transpose(-1, -2))


def test_periodic_images_are_equivalent(tiny_model):
    model = tiny_model(1)
    cell = torch.tensor([[9.0, 0.0, 0.0], [0.5, 9.0, 0.0], [0.0, 0.8, 9.5]], dtype=F64)
    torch.manual_seed(3)
    species = torch.tensor([[8, 1, 1, 6, 1, 8]])
    positions = torch.rand(1, 6, 3, dtype=F64) @ cell
    shifted = positions.clone()
    shifted[0, 2] += cell[0] - cell[2]
    shifted[0, 4] += cell[1]
    a = model.predict(species, positions, cells=cell[None])
    b = model.predict(species, shifted, cells=cell[None])
    open_ = model.predict(species, shifted)
    assert torch.allclose(a.energy, b.energy, atol=1e-12) and torch.allclose(a.forces, b.forces, atol=1e-12)
    assert not torch.allclose(a.energy, open_.energy)


def test_predict_accepts_a_batch(tiny_model):
    model = tiny_model()
    species, positions = molecules(METHANE, WATER)
    batch = Batch(species=species, positions=positions, energies=torch.zeros(2), indices=torch.arange(2))
    assert torch.equal(model.predict(batch).forces, model.predict(species, positions).forces)
    energy_only = model.predict(batch, forces=False)
    assert energy_only.forces is None and not energy_only.energy.requires_grad


def test_reference_energy_least_squares_recovers_per_element_energies(tiny_model):
    model = tiny_model()
    truth = torch.tensor([-13.6, -1029.5, -2041.2], dtype=F64)  # H, C, O in the model's element order
    generator = torch.Generator().manual_seed(0)
    species = torch.tensor([1, 6, 8])[torch.randint(0, 3, (40, 7), generator=generator)]
    species[:, 5:] *= torch.randint(0, 2, (40, 2), generator=generator)  # some padding
    counts = torch.stack([(species == z).sum(1) for z in (1, 6, 8)], dim=1).to(F64)
    energies = counts @ truth + 1e-3 * torch.randn(40, dtype=F64, generator=generator)
    fitted = model.fit_reference_energies(species.numpy(), energies.numpy())
    assert torch.allclose(fitted, truth, atol=2e-3)
    assert torch.equal(model.reference_energies, fitted)
    # The reference is added per atom: with silent energy heads the model predicts it exactly.
    with torch.no_grad():
        for head in model.energy_heads:
            head.weight.zero_()
            head.bias.zero_()
    species_w, positions_w = molecules(WATER)
    assert torch.isclose(model(species_w, positions_w).energy[0], 2 * fitted[0] + fitted[2])


def test_hierarchicality_on_hand_made_layer_energies():
    layer_energies = torch.tensor([[3.0, 4.0, 0.0], [0.0, 0.0, 0.0], [10.0, 1.0, 0.1]], dtype=F64)
    expected = torch.tensor([16 / 25 + 0.0, 0.0, 1 / 101 + 0.01 / 1.01], dtype=F64)
    assert torch.allclose(hierarchicality(layer_energies), expected)


def test_unknown_species_and_wrong_dtype_are_clear_errors(tiny_model):
    model = tiny_model()
    species, positions = molecules(WATER)
    with pytest.raises(MLIPLabError, match=r"species \[7, 200\]"):
        model(torch.tensor([[7, 1, 200]]), positions)
    with pytest.raises(MLIPLabError, match="float32"):
        model(species, positions.float())
    with pytest.raises(MLIPLabError, match="tensor_order"):
        HIPNNConfig(tensor_order=3)


def test_save_load_round_trip_gives_identical_outputs(tmp_path, tiny_model):
    model = tiny_model(2, residual=True)
    model.fit_reference_energies([[1, 1, 8]], [-2068.0])
    species, positions = molecules(METHANE, WATER)
    path = save_model(model, tmp_path / "new folder" / "model.pt")  # missing folders are created
    raw = torch.load(path, weights_only=True)
    assert raw["config"] == model.config.to_dict() and isinstance(raw["config"]["elements"], list)
    loaded = load_model(path)
    assert loaded.config == model.config
    before, after = model.predict(species, positions), loaded.predict(species, positions)
    assert torch.equal(before.energy, after.energy) and torch.equal(before.forces, after.forces)


CODE_RAN = []


def _run_code_from_file():
    CODE_RAN.append(True)
    return {}


class _Trap:
    """Unpickling this calls a function: exactly what a weights-only load must refuse."""

    def __reduce__(self):
        return (_run_code_from_file, ())


def test_load_refuses_code_and_malformed_files(tmp_path, tiny_model):
    evil = tmp_path / "evil.pt"
    torch.save({"kind": "HIPNN", "config": _Trap(), "state_dict": {}}, evil)
    with pytest.raises(MLIPLabError, match="weights-only"):
        load_model(evil)
    assert not CODE_RAN
    (tmp_path / "junk.pt").write_text("not a model")
    with pytest.raises(MLIPLabError, match="weights-only"):
        load_model(tmp_path / "junk.pt")
    torch.save([1, 2], tmp_path / "list.pt")
    with pytest.raises(MLIPLabError, match="expected the keys"):
        load_model(tmp_path / "list.pt")
    good = tiny_model()
    bad_config = {"kind": "HIPNN", "config": {**good.config.to_dict(), "surprise": 1}, "state_dict": good.state_dict()}
    torch.save(bad_config, tmp_path / "bad.pt")
    with pytest.raises(MLIPLabError, match="surprise"):
        load_model(tmp_path / "bad.pt")
    with pytest.raises(MLIPLabError, match="no MLIP Lab model file"):
        load_model(tmp_path / "missing.pt")


def test_ensemble_mean_std_and_round_trip(tmp_path, tiny_model):
    members = [tiny_model(order, seed=order) for order in ORDERS]
    ensemble = Ensemble(members)
    species, positions = molecules(METHANE, WATER)
    out = ensemble.predict(species, positions)
    singles = [m.predict(species, positions) for m in members]
    energies = torch.stack([s.energy for s in singles])
    forces = torch.stack([s.forces for s in singles])
    assert torch.allclose(out.energy, energies.mean(0))
    assert torch.allclose(out.energy_std, ((energies - energies.mean(0)) ** 2).mean(0).sqrt())
    assert torch.allclose(out.forces, forces.mean(0))
    assert torch.allclose(out.forces_std, ((forces - forces.mean(0)) ** 2).mean(0).sqrt())
    assert (out.energy_std > 0).all()
    assert torch.allclose(ensemble(species, positions).energy, out.energy)
    atomic = torch.stack([s.atomic_energies for s in singles]).mean(0)
    assert torch.allclose(out.atomic_energies, atomic)
    assert torch.allclose(out.atomic_energies.sum(1), out.energy)
    assert torch.allclose(ensemble(species, positions).atomic_energies, atomic)

    twins = Ensemble([members[0], copy.deepcopy(members[0])]).predict(species, positions)
    assert not twins.energy_std.any() and not twins.forces_std.any()

    loaded = load_model(save_model(ensemble, tmp_path / "ensemble.pt"))
    assert isinstance(loaded, Ensemble) and len(loaded) == 3
    assert torch.equal(loaded.predict(species, positions).forces_std, out.forces_std)
