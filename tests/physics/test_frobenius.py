"""||A||_F^2 from probe products: unbiased for every probe kind, with the variance the closed forms give, and
the variance ordering that decides between one-hot and random probes."""

import pytest
import torch

from mlip_lab.errors import MLIPLabError
from mlip_lab.physics.frobenius import frobenius_estimate, frobenius_estimate_variance
from mlip_lab.physics.probes import PROBE_KINDS, probe_matrix

N = 6


def random_matrix(seed=0):
    return torch.randn(N, N, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def test_all_one_hot_columns_give_the_exact_norm():
    a = random_matrix()
    products = torch.eye(N, dtype=torch.float64) @ a.T  # row k is A e_k
    assert frobenius_estimate(products) == pytest.approx(float((a**2).sum()), rel=1e-12)


@pytest.mark.parametrize("kind", PROBE_KINDS)
def test_estimate_is_unbiased_and_its_spread_matches_the_closed_form(kind):
    a, draws = random_matrix(), 40000
    probes = probe_matrix(N, draws, kind, torch.Generator().manual_seed(1))
    single = N * ((probes @ a.T) ** 2).sum(1)  # one estimate per probe
    exact, variance = float((a**2).sum()), float(frobenius_estimate_variance(a, kind))
    # Tolerance: 4 standard errors of the mean of `draws` estimates (fails by chance about once in 16000 runs).
    assert abs(float(frobenius_estimate(probes @ a.T)) - exact) < 4 * (variance / draws) ** 0.5
    assert float(single.var()) == pytest.approx(variance, rel=0.08)


def test_one_dominant_column_favours_random_probes_and_equal_columns_favour_one_hot():
    dominant = 0.1 * random_matrix(2)
    dominant[:, 0] += 5.0  # one column carries almost all of ||A||_F^2
    assert frobenius_estimate_variance(dominant, "one_hot") > 3 * frobenius_estimate_variance(dominant, "gaussian")
    equal = torch.ones(N, N, dtype=torch.float64)  # every column has the same norm, but one singular value
    assert float(frobenius_estimate_variance(equal, "one_hot")) == pytest.approx(0.0, abs=1e-9)
    assert float(frobenius_estimate_variance(equal, "gaussian")) > 1.0
    orthogonal = torch.linalg.qr(random_matrix(3))[0] * 2.0  # equal columns and equal singular values
    for kind in PROBE_KINDS:
        assert float(frobenius_estimate_variance(orthogonal, kind)) == pytest.approx(0.0, abs=1e-9)


def test_bad_input_says_what_is_wrong():
    with pytest.raises(MLIPLabError, match="square"):
        frobenius_estimate_variance(torch.zeros(3, 4), "gaussian")
    with pytest.raises(MLIPLabError, match="probe kind"):
        frobenius_estimate_variance(torch.zeros(3, 3), "sobol")
    with pytest.raises(MLIPLabError, match=r"\(S, n\)"):
        frobenius_estimate(torch.zeros(6))
