"""Static plotly figures for the lessons: sensitivity functions, parity plots, test-set distances and learning curves."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from mlip_lab.train.metrics import ErrorStats


def sensitivity_figure(r, s, title: str = "sensitivity functions s_ν(r)") -> go.Figure:
    """One line per sensitivity: r (R,) Å, s (R, S) as from :meth:`HIPNN.sensitivity_curves`."""
    r, s = np.asarray(r), np.asarray(s)
    fig = go.Figure(layout=dict(title=title, xaxis_title="r / Å", yaxis_title="s(r)", height=320, width=560,
                                showlegend=False, margin=dict(l=60, r=10, t=40, b=40)))
    for k in range(s.shape[1]):
        fig.add_scatter(x=r, y=s[:, k], mode="lines", name=f"ν = {k}")
    return fig


def parity_figure(reference, predicted, quantity: str, unit: str, groups=None) -> go.Figure:
    """Reference vs predicted with the ideal line, MAE and RMSE in the title; ``groups`` colours points."""
    reference, predicted = np.asarray(reference), np.asarray(predicted)
    stats = ErrorStats.of(predicted - reference)
    ends = [min(reference.min(), predicted.min()), max(reference.max(), predicted.max())]
    fig = go.Figure(layout=dict(title=f"{quantity}: MAE {stats.mae:.3g}, RMSE {stats.rmse:.3g} {unit}",
                                xaxis_title=f"reference {quantity} / {unit}", yaxis_title=f"predicted {quantity} / {unit}",
                                height=380, width=460, yaxis_scaleanchor="x", margin=dict(l=70, r=10, t=40, b=40)))
    fig.add_scatter(x=ends, y=ends, mode="lines", line=dict(color="grey", dash="dot"), name="ideal", showlegend=False)
    labels = np.asarray(groups) if groups is not None else np.full(len(reference), "")
    for label in dict.fromkeys(labels.tolist()):
        mask = labels == label
        fig.add_scatter(x=reference[mask], y=predicted[mask], mode="markers", name=label or quantity,
                        marker=dict(size=4, opacity=0.6), showlegend=bool(label))
    return fig


def nearest_distance_figure(distances: dict, title: str = "how close is each test configuration to the training set?",
                            n_bins: int = 30) -> go.Figure:
    """Overlaid histograms of nearest-training-configuration distances (Å), one per label (e.g. per split), from
    :func:`mlip_lab.train.nearest_reference_distance`; the median of each in its legend entry."""
    fig = go.Figure(layout=dict(title=title, xaxis_title="distance RMSD to the nearest training configuration / Å",
                                yaxis_title="test configurations", barmode="overlay", height=340, width=640,
                                margin=dict(l=60, r=10, t=40, b=40)))
    finite = {label: np.asarray(d)[np.isfinite(d)] for label, d in distances.items()}
    top = max((d.max() for d in finite.values() if d.size), default=1.0)
    for label, d in finite.items():
        fig.add_histogram(x=d, name=f"{label} (median {np.median(d):.3f} Å)", opacity=0.6,
                          xbins=dict(start=0.0, end=top, size=top / n_bins))
    return fig


def learning_curve_figure(curves: dict, scale: float = 1.0, unit: str = "eV/Å",
                          title: str = "learning curve: test force error vs training-set size") -> go.Figure:
    """Test force MAE (times ``scale``, in ``unit``) against training configurations on log-log axes, one line per
    :class:`~mlip_lab.train.LearningCurve`, its fitted log-log slope in the legend."""
    fig = go.Figure(layout=dict(title=title, xaxis_title="training configurations", xaxis_type="log",
                                yaxis_title=f"test force MAE / {unit}", yaxis_type="log", height=360, width=640,
                                margin=dict(l=70, r=10, t=40, b=40)))
    for label, curve in curves.items():
        slope = f", slope {curve.slope():.2f}" if len(curve.sizes) > 1 else ""
        fig.add_scatter(x=curve.sizes, y=curve.force_mae * scale, mode="lines+markers", name=f"{label}{slope}")
    return fig
