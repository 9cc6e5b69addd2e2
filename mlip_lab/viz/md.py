"""Molecular-dynamics widgets: live energy and temperature plots, a trajectory player, and figures of the time-step
scan and the vibrational spectrum. The numbers come from :mod:`mlip_lab.md`; these only draw them."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from ipywidgets import HBox, IntSlider, Play, VBox, jslink

from mlip_lab.md.observers import ThermoLog, energy_change_per_atom
from mlip_lab.md.stability import TimestepScan
from mlip_lab.viz.live import live_update
from mlip_lab.viz.molecule import face_on
from mlip_lab.viz.ngl import ngl_view


def shown_replicas(n_replicas: int, n_show: int) -> list[int]:
    """Up to ``n_show`` replica indices spread evenly over the batch (all of them if it is small)."""
    return sorted(set(np.linspace(0, n_replicas - 1, min(n_show, n_replicas)).round().astype(int).tolist()))


class MDMonitor:
    """Live plots, as an observer of :func:`~mlip_lab.md.run_md` (``every`` steps): the total-energy change per atom
    (meV/atom, since the start of monitoring) and the temperature (K) of up to ``n_show`` replicas, plus the
    batch-mean temperature. ``thermo_log`` is the :class:`~mlip_lab.md.ThermoLog` it draws from; ``widget`` the
    ipywidgets box shown when the monitor is displayed."""

    def __init__(self, every: int = 10, n_show: int = 8, title: str = ""):
        self.thermo_log = ThermoLog(every)
        self.every, self.n_show = self.thermo_log.every, n_show
        layout = dict(height=300, width=440, margin=dict(l=60, r=10, t=40, b=40), showlegend=False)
        self.energy_figure = go.FigureWidget(layout=dict(title=f"{title} energy change".strip(), xaxis_title="time / fs",
                                                         yaxis_title="ΔE_total / meV per atom", **layout))
        self.temperature_figure = go.FigureWidget(layout=dict(title=f"{title} temperature".strip(),
                                                              xaxis_title="time / fs", yaxis_title="T / K", **layout))
        self.widget = HBox([self.energy_figure, self.temperature_figure])
        self._replicas: list[int] = []

    def _repr_mimebundle_(self, **kwargs):
        return self.widget._repr_mimebundle_(**kwargs)

    def __call__(self, state) -> None:
        self.thermo_log(state)
        data = self.thermo_log.arrays()
        if not self._replicas:
            self._replicas = shown_replicas(data["total"].shape[1], self.n_show)
            for b in self._replicas:
                self.energy_figure.add_scatter(mode="lines", name=f"replica {b}")
                self.temperature_figure.add_scatter(mode="lines", name=f"replica {b}", opacity=0.5)
            self.temperature_figure.add_scatter(mode="lines", name="mean", line=dict(color="black", width=3))
        change_mev = 1000.0 * energy_change_per_atom(data["total"], self.thermo_log.n_atoms)
        with live_update(self.energy_figure), live_update(self.temperature_figure):
            for trace, b in zip(self.energy_figure.data, self._replicas):
                trace.x, trace.y = data["time"], change_mev[:, b]
            for trace, b in zip(self.temperature_figure.data, self._replicas):
                trace.x, trace.y = data["time"], data["temperature"][:, b]
            self.temperature_figure.data[-1].x = data["time"]
            self.temperature_figure.data[-1].y = data["temperature"].mean(1)


class TrajectoryView(VBox):
    """The VBox :func:`trajectory_view` returns: ``view`` is the nglview widget, below it a play button and a frame
    slider, linked in the browser so playback does not need the kernel."""

    def __init__(self, view, n_frames: int):
        self.view = view
        last = max(n_frames - 1, 0)
        self.play = Play(min=0, max=last, interval=100, description="play")
        self.slider = IntSlider(min=0, max=last, description="frame")
        jslink((self.play, "value"), (self.slider, "value"))
        jslink((self.slider, "value"), (view, "frame"))
        super().__init__([view, HBox([self.play, self.slider])])


def trajectory_view(frames) -> TrajectoryView:
    """An nglview player for a list of ``ase.Atoms`` frames (e.g. read from a TrajectoryWriter file), turned face-on."""
    rotation = face_on(frames[0].positions)
    shown = []
    for atoms in frames:
        turned = atoms.copy()
        turned.positions = (atoms.positions - frames[0].positions.mean(0)) @ rotation
        shown.append(turned)
    return TrajectoryView(ngl_view(shown), len(shown))


def timestep_scan_figure(scan: TimestepScan, max_drift: float | None = None) -> go.Figure:
    """|Energy drift| (eV/atom/ps, log scale) against the time step; time steps with blow-ups marked in red."""
    ok = scan.blown_up == 0
    fig = go.Figure(layout=dict(title="NVE energy drift vs time step", xaxis_title="time step / fs",
                                yaxis_title="|drift| / eV per atom per ps", yaxis_type="log", height=340, width=520,
                                margin=dict(l=70, r=10, t=40, b=40)))
    fig.add_scatter(x=scan.timesteps[ok], y=scan.drift[ok], mode="lines+markers", name="all replicas stable")
    if (~ok).any():
        fig.add_scatter(x=scan.timesteps[~ok], y=np.nan_to_num(scan.drift[~ok], nan=np.nanmax(scan.drift)),
                        mode="markers", marker=dict(color="red", size=12, symbol="x"),
                        text=[f"{n} of {scan.n_replicas} blew up" for n in scan.blown_up[~ok]],
                        name="some replicas blew up")
    if max_drift is not None:
        fig.add_hline(y=max_drift, line_dash="dot", annotation_text="threshold")
    return fig


def spectrum_figure(wavenumbers, intensity, harmonic=None, title: str = "vibrational spectrum",
                    verlet=None) -> go.Figure:
    """The MD spectrum (K,) against wavenumber (cm^-1), with optional harmonic frequencies as vertical lines and,
    optionally, the same lines where velocity Verlet puts them (``verlet``, see
    :func:`mlip_lab.md.verlet_wavenumbers`)."""
    fig = go.Figure(layout=dict(title=title, xaxis_title="wavenumber / cm⁻¹", yaxis_title="intensity (max 1)",
                                height=340, width=720, margin=dict(l=60, r=10, t=40, b=40)))
    fig.add_scatter(x=np.asarray(wavenumbers), y=np.asarray(intensity), mode="lines", name="MD (VACF)")
    lines = (("harmonic (Hessian)", harmonic, "red", "dot"), ("harmonic, Verlet-shifted", verlet, "green", "dash"))
    for name, values, color, dash in lines:
        for k, w in enumerate(np.asarray([] if values is None else values)):
            fig.add_scatter(x=[w, w], y=[0, 1.05], mode="lines", line=dict(color=color, dash=dash, width=1),
                            name=name, showlegend=k == 0)
    return fig
