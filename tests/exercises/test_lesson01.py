"""Exercise checkers accept right answers and reject typical wrong ones with a helpful message."""

import math

import torch

from mlip_lab.exercises.lesson01 import check_cutoff, check_forces, check_kcal_conversion, check_sensitivity


def good_cutoff(r, rc):
    return torch.where(r <= rc, torch.cos(math.pi * r / (2 * rc)) ** 2, torch.zeros_like(r))


def test_cutoff_checker():
    assert check_cutoff(good_cutoff)
    no_square = check_cutoff(lambda r, rc: torch.where(r <= rc, torch.cos(math.pi * r / (2 * rc)), 0 * r))
    assert not no_square and "SQUARED" in no_square.message
    assert not check_cutoff(lambda r, rc: torch.cos(math.pi * r / (2 * rc)) ** 2)  # no zero beyond r_c
    crashed = check_cutoff(lambda r, rc: r.undefined_method())
    assert not crashed and "AttributeError" in crashed.message
    assert not check_cutoff(lambda r, rc: good_cutoff(r, rc)[:-1])
    not_numbers = check_cutoff(lambda r, rc: "cos squared")
    assert not not_numbers and "numbers" in not_numbers.message


def test_sensitivity_checker():
    def good(r, inv_mu, sigma, rc):
        return torch.exp(-0.5 * sigma**2 * (1 / r - inv_mu) ** 2) * good_cutoff(r, rc)

    assert check_sensitivity(good)
    missing_cutoff = check_sensitivity(lambda r, m, s, rc: torch.exp(-0.5 * s**2 * (1 / r - m) ** 2))
    assert not missing_cutoff and "cutoff" in missing_cutoff.message
    assert not check_sensitivity(lambda r, m, s, rc: torch.exp(-0.5 * s**2 * (r - 1 / m) ** 2) * good_cutoff(r, rc))


def test_forces_checker(make_model):
    model = make_model(elements=(1, 8), n_features=6, n_sensitivities=4)
    species = torch.tensor([[8, 1, 1]])
    positions = torch.tensor([[[0.0, 0, 0], [0, 0.76, 0.58], [0, -0.76, 0.58]]], dtype=torch.float64)

    def good(model, species, positions):
        positions = positions.clone().requires_grad_(True)
        energy = model(species, positions).energy
        return -torch.autograd.grad(energy.sum(), positions)[0]

    assert check_forces(good, model, species, positions)
    flipped = check_forces(lambda m, s, p: -good(m, s, p), model, species, positions)
    assert not flipped and "sign" in flipped.message
    assert not check_forces(lambda m, s, p: torch.zeros(1, 3, 3, dtype=torch.float64), model, species, positions)


def test_unit_checker():
    assert check_kcal_conversion(0.05, 0.05 * 23.0605)
    divided = check_kcal_conversion(0.05, 0.05 / 23.0605)
    assert not divided and "divided" in divided.message
    assert not check_kcal_conversion(0.05, "lots")
    assert not check_kcal_conversion(0.05, 1.0)
