"""Static plotly figures for the lessons: sensitivity functions and parity plots."""

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
