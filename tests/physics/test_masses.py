"""masses_of: ASE's standard masses by atomic number, 0 on padding, numpy or torch out as in, bad numbers rejected."""

import numpy as np
import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.physics import masses_of


def test_numpy_in_gives_numpy_masses_with_zero_on_padding():
    masses = masses_of(np.array([[8, 1, 1, 0], [6, 1, 0, 0]]))
    assert isinstance(masses, np.ndarray) and masses.dtype == np.float64 and masses.shape == (2, 4)
    np.testing.assert_allclose(masses[0], [15.999, 1.008, 1.008, 0.0], atol=1e-3)
    assert masses[1, 0] == pytest.approx(12.011, abs=1e-3) and np.all(masses[1, 2:] == 0)


def test_torch_in_gives_a_float64_tensor_on_the_same_device():
    species = torch.tensor([7, 0])
    masses = masses_of(species)
    assert isinstance(masses, torch.Tensor) and masses.dtype == torch.float64 and masses.device == species.device
    assert masses[0].item() == pytest.approx(14.007, abs=1e-3) and masses[1].item() == 0.0


def test_lists_and_whole_floats_are_accepted():
    assert masses_of([1, 6]).tolist() == pytest.approx([1.008, 12.011], abs=1e-3)
    assert masses_of(np.array([8.0, 0.0])).tolist() == pytest.approx([15.999, 0.0], abs=1e-3)


@pytest.mark.parametrize("species", [[1, 119], [-1, 1], np.array([1.5, 1.0]), np.array([np.nan, 1.0]),
                                     torch.tensor([[1, 200]])])
def test_unknown_atomic_numbers_are_rejected(species):
    with pytest.raises(MLIPLabError, match="atomic numbers"):
        masses_of(species)
