"""Static figures: parity plots and sensitivity curves."""

import pytest


def test_parity_and_sensitivity_figures(make_model):
    pytest.importorskip("plotly")
    from mlip_lab.viz import parity_figure, sensitivity_figure

    fig = parity_figure([1.0, 2.0, 3.0], [1.0, 2.5, 3.0], "energy", "eV", groups=["a", "b", "a"])
    assert len(fig.data) == 3  # ideal line + one trace per group
    assert "MAE 0.167" in fig.layout.title.text
    assert list(fig.data[1].x) == [1.0, 3.0]
    r, s = make_model(elements=(1, 8), n_sensitivities=5).sensitivity_curves()
    assert len(sensitivity_figure(r, s).data) == 5

