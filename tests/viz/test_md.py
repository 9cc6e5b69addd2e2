"""MD widgets without a browser: the numbers they draw come from the library."""

import numpy as np
import pytest

from mlip_lab.md import FrameRecorder, TimestepScan, energy_change_per_atom, run_md, velocity_verlet


def test_md_widgets_draw_library_numbers(springs_state):
    viz = pytest.importorskip("mlip_lab.viz")
    springs, state = springs_state
    monitor = viz.MDMonitor(every=5, n_show=2)
    frames = FrameRecorder(every=5)
    run_md(state, velocity_verlet(springs, 0.5), 20, [monitor, frames], progress=False)
    data = monitor.thermo_log.arrays()
    assert len(monitor.energy_figure.data) == 2 and len(monitor.temperature_figure.data) == 3
    assert np.allclose(monitor.energy_figure.data[1].y, 1000 * energy_change_per_atom(data["total"], monitor.thermo_log.n_atoms)[:, 2])
    assert np.allclose(monitor.temperature_figure.data[-1].y, data["temperature"].mean(1))
    assert viz.shown_replicas(100, 4) == [0, 33, 66, 99] and viz.shown_replicas(2, 8) == [0, 1]
    player = viz.trajectory_view(frames.atoms(replica=1))
    assert player.view.max_frame == player.slider.max == len(frames.times) - 1
    scan = TimestepScan(np.array([0.5, 4.0]), np.array([1e-5, np.nan]), np.zeros(2), np.array([0, 3]), 3)
    assert len(viz.timestep_scan_figure(scan, max_drift=1e-3).data) == 2
    assert len(viz.spectrum_figure([0, 1, 2], [0, 1, 0], harmonic=[1.0, 1.5]).data) == 3

