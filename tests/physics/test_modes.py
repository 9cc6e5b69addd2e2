"""Normal-mode animation frames."""

import pytest
import torch

from mlip_lab import MLIPLabError
from mlip_lab.physics.modes import mode_frames


def test_mode_frames_oscillate_along_the_mode():
    positions = torch.zeros(3, 3, dtype=torch.float64)
    mode = torch.tensor([[0.0, 0.0, 2.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    frames = mode_frames(positions, mode, amplitude=0.5, n_frames=4)
    assert frames.shape == (4, 3, 3)
    assert torch.allclose(frames[0], positions)
    assert torch.allclose(frames[1, 0], torch.tensor([0.0, 0.0, 0.5], dtype=torch.float64))  # largest atom moves A
    assert torch.allclose(frames[3], -frames[1])
    with pytest.raises(MLIPLabError, match="all zeros"):
        mode_frames(positions, torch.zeros(3, 3))
    with pytest.raises(MLIPLabError, match="shaped like positions"):
        mode_frames(positions, torch.zeros(2, 3))

