"""Fixtures of the distillation tests: small slices of the shipped ``organics`` data."""

import pytest

from mlip_lab.data import load


@pytest.fixture(scope="package")
def organics_small():
    """(train, valid): 24 and 8 water and methane configurations of ``organics``, with their DFT forces."""
    data = load("organics").where(molecule=["water", "methane"])
    return data.subset(range(0, 840, 35)), data.subset(range(17, 840, 105))
