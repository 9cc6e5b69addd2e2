"""Live plotly figures: updates that a saved notebook (and the static course built from it) keeps."""

from __future__ import annotations

from contextlib import contextmanager
from copy import deepcopy
from typing import Iterator

import plotly.graph_objects as go


@contextmanager
def live_update(figure: go.FigureWidget) -> Iterator[go.FigureWidget]:
    """Batch changes to a shown ``FigureWidget`` into one redraw, then record the result in its saved state.

    plotly sends each change to the browser as a one-off message and keeps the data the figure was shown with in
    its synced fields, so a notebook saved with its widget state (nbclient, the static course pages) would show a
    live plot as it was created: empty axes for a training dashboard. Copying the current data and layout into
    those fields, as plotly itself does when a figure is displayed, makes the saved state the figure as it is now.
    """
    with figure.batch_update():
        yield figure
    figure._widget_layout = deepcopy(figure._layout_obj._props)
    figure._widget_data = deepcopy(figure._data)
