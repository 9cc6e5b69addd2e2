"""Live figures keep their updates in the state a saved notebook stores."""

import numpy as np
import plotly.graph_objects as go

from mlip_lab.viz.live import live_update


def test_live_update_records_the_current_figure_in_the_synced_state():
    figure = go.FigureWidget(go.Scatter(x=[0, 1], y=[0, 0]), layout=dict(title="before"))
    figure._repr_mimebundle_()  # shown, as in a notebook
    with live_update(figure) as same:
        same.data[0].y = np.array([2.0, 3.0])
        same.layout.title = "after"
    assert np.allclose(figure._widget_data[0]["y"], [2.0, 3.0])
    assert figure._widget_layout["title"]["text"] == "after"
    assert figure._widget_data is not figure._data  # a copy: later changes go through plotly's messages again
