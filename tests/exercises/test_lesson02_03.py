"""Checkers of lessons 02 and 03 accept right answers and reject typical wrong ones."""

import numpy as np
import torch

from mlip_lab.data import load
from mlip_lab.exercises.lesson02 import check_hutchinson, check_hvp, check_rademacher
from mlip_lab.exercises.lesson03 import check_hessian_mae, check_hvp_loss, check_one_hot_variance
from mlip_lab.exercises.solutions import SOLUTIONS
from mlip_lab.physics.frobenius import frobenius_estimate_variance
from mlip_lab.physics.units import EV_KCAL_PER_MOL


def _hvp(model, species, positions, vectors, sign=1.0, second=True):
    positions = positions.requires_grad_(True)
    (gradient,) = torch.autograd.grad(model(species, positions).energy.sum(), positions, create_graph=True)
    if not second:
        return gradient
    return sign * torch.autograd.grad((gradient * vectors).sum(), positions)[0]


def test_hvp_checker(make_model):
    model = make_model()
    species = torch.tensor([[8, 1, 1]])
    positions = torch.tensor([[[0.0, 0.0, 0.12], [0.0, 0.76, -0.47], [0.0, -0.76, -0.47]]], dtype=torch.float64)
    vectors = torch.randn(1, 3, 3, dtype=torch.float64)
    assert check_hvp(_hvp, model, species, positions, vectors)
    sign = check_hvp(lambda *a: _hvp(*a, sign=-1.0), model, species, positions, vectors)
    assert not sign and "sign" in sign.message
    first = check_hvp(lambda *a: _hvp(*a, second=False), model, species, positions, vectors)
    assert not first and "first derivative" in first.message
    assert not check_hvp(lambda *a: _hvp(*a) * 1.01, model, species, positions, vectors)
    assert not check_hvp(lambda *a: None, model, species, positions, vectors)


def test_rademacher_checker():
    def good(n, g):
        return (torch.randint(0, 2, (n,), generator=g) * 2 - 1) / n**0.5

    assert check_rademacher(good)
    unnormalised = check_rademacher(lambda n, g: torch.randint(0, 2, (n,), generator=g) * 2.0 - 1)
    assert not unnormalised and "sqrt(n)" in unnormalised.message
    same_sign = check_rademacher(lambda n, g: torch.full((n,), 1.0) * (1 if torch.rand(1, generator=g) < 0.5 else -1) / n**0.5)
    assert not same_sign and "independent" in same_sign.message
    assert not check_rademacher(lambda n, g: torch.randn(n, generator=g))
    assert not check_rademacher(lambda n, g: good(n + 1, g))


def test_hutchinson_checker():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(6, 6, generator=g, dtype=torch.float64)
    probes = torch.nn.functional.normalize(torch.randn(50, 6, generator=g, dtype=torch.float64), dim=1)
    products = probes @ a.T
    assert check_hutchinson(lambda v, av: 6 * (v * av).sum(1).mean(), probes, products)
    missing_n = check_hutchinson(lambda v, av: (v * av).sum(1).mean(), probes, products)
    assert not missing_n and "multiply" in missing_n.message
    assert not check_hutchinson(lambda v, av: 6 * (v * av).sum(1), probes, products)
    assert not check_hutchinson(lambda v, av: a.trace() + 1, probes, products)


def _rmse_variants(predicted, hessians, probes, mask):
    """The HVP errors of a padded batch, to build typical wrong answers from: (B, N, 3) errors and references."""
    b, n, _ = probes.shape
    reference = (hessians @ probes.reshape(b, 3 * n, 1)).reshape(b, n, 3)
    return predicted - reference, reference


def test_hvp_loss_checker_matches_the_library_term_and_names_the_usual_slips(make_model, make_dataset):
    model = make_model(elements=(1, 6, 8))
    data = make_dataset(("water", "methane", "water"))  # 3 and 5 atoms: padding and pooling both matter
    solution = SOLUTIONS["03.hvp_loss"]
    assert check_hvp_loss(solution, model, data)
    assert not check_hvp_loss(lambda *a: None, model, data)

    def mse(*a):
        return solution(*a) ** 2

    def padded(p, h, v, m):
        return (_rmse_variants(p, h, v, m)[0] ** 2).mean().sqrt()

    def per_molecule(p, h, v, m):
        errors = _rmse_variants(p, h, v, m)[0]
        return torch.stack([(e[k] ** 2).mean().sqrt() for e, k in zip(errors, m)]).mean()

    def summed(p, h, v, m):
        return ((p + _rmse_variants(p, h, v, m)[1])[m] ** 2).mean().sqrt()

    for wrong, hint in ((mse, "square root"), (padded, "padding"), (per_molecule, "pools"), (summed, "sign")):
        result = check_hvp_loss(wrong, model, data)
        assert not result and hint in result.message, result.message
    assert not check_hvp_loss(lambda *a: solution(*a) * 1.01, model, data)
    assert not check_hvp_loss(lambda p, h, v, m: _rmse_variants(p, h, v, m)[0], model, data)  # not one number


def test_one_hot_variance_checker_accepts_the_formula_and_explains_wrong_ones():
    a = torch.randn(9, 9, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    a = a + a.T  # symmetric, like a Hessian error
    solution = SOLUTIONS["03.one_hot_variance"]
    result = check_one_hot_variance(solution, a)
    assert result and "Gaussian" in result.message
    assert not check_one_hot_variance(lambda e: None, a)

    def columns(e):
        return (e**2).sum(0)

    wrong = {
        "n²": lambda e: columns(e).var(unbiased=False),
        "n - 1": lambda e: e.shape[0] ** 2 * columns(e).var(unbiased=True),
        "squared mean": lambda e: e.shape[0] * (columns(e) ** 2).sum(),
        "squared column norms": lambda e: e.shape[0] ** 2 * e.norm(dim=0).var(unbiased=False),
        "Gaussian": lambda e: frobenius_estimate_variance(e, "gaussian"),
    }
    for hint, fn in wrong.items():
        result = check_one_hot_variance(fn, a)
        assert not result and hint in result.message, (hint, result.message)
    assert not check_one_hot_variance(lambda e: solution(e) * 1.01, a)


def test_one_hot_variance_message_names_whichever_probe_is_less_noisy():
    equal_columns = torch.ones(6, 6, dtype=torch.float64) + 0.01 * torch.eye(6, dtype=torch.float64)
    dominant = torch.eye(6, dtype=torch.float64)
    dominant[:, 0] = 5.0
    solution = SOLUTIONS["03.one_hot_variance"]
    assert "one-hot probes are less noisy" in check_one_hot_variance(solution, equal_columns).message
    assert "Gaussian probes are less noisy" in check_one_hot_variance(solution, dominant).message


def test_hessian_mae_checker():
    data = load("organics_minima")
    predicted = data.hessians * 1.1
    errors = [np.abs(predicted[i, : 3 * n, : 3 * n] - data.hessians[i, : 3 * n, : 3 * n]).reshape(-1)
              for i, n in enumerate(data.n_atoms)]
    mae = np.concatenate(errors).mean()
    assert check_hessian_mae(mae * EV_KCAL_PER_MOL, data, predicted)
    in_ev = check_hessian_mae(mae, data, predicted)
    assert not in_ev and "eV" in in_ev.message
    padded = check_hessian_mae(np.abs(predicted - data.hessians).mean() * EV_KCAL_PER_MOL, data, predicted)
    assert not padded and "padding" in padded.message
    assert not check_hessian_mae(None, data, predicted)
