"""Checks of the atomistic reference against experiment: NPT density and the O-O radial distribution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlip_lab.cg.structure import largest_rdf_range, radial_distribution


def oxygen_rdf_peak(oxygen: np.ndarray, boxes: np.ndarray, bin_width: float = 0.02) -> float:
    """First-peak position (Å) of the O-O g(r) of frames ``oxygen`` (F, N, 3) Å in ``boxes`` (F, 3, 3) Å, with
    g(r) out to 8 Å or just under the longest range the boxes allow."""
    r_max = min(8.0, largest_rdf_range(boxes) - 0.01)
    r, g = radial_distribution(oxygen, boxes, r_max, int(round(r_max / bin_width)))
    return first_peak(r, g)


@dataclass(frozen=True)
class Validation:
    """The validation run's numbers: density mean and standard deviation over its frames (g/cm³), the
    experimental density and relative tolerance, the O-O RDF first-peak position (Å) and its allowed window."""

    density: float
    density_std: float
    experimental_density: float
    tolerance: float
    oxygen_peak: float
    peak_window: tuple[float, float]
    frames: int

    @property
    def density_error(self) -> float:
        """Relative deviation from experiment."""
        return self.density / self.experimental_density - 1.0

    @property
    def passed(self) -> bool:
        return abs(self.density_error) <= self.tolerance and self.peak_window[0] <= self.oxygen_peak <= self.peak_window[1]

    def summary(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        return (f"validation {verdict}: NPT density {self.density:.4f} ± {self.density_std:.4f} g/cm³ over {self.frames} "
                f"frames vs experiment {self.experimental_density} ({self.density_error:+.1%}, allowed ±{self.tolerance:.0%}); "
                f"O-O RDF first peak at {self.oxygen_peak:.2f} Å (allowed {self.peak_window[0]}-{self.peak_window[1]} Å)")


def first_peak(r: np.ndarray, g: np.ndarray) -> float:
    """Position (Å) of the first maximum of g(r): the highest bin before g first falls back below 1
    after rising above it."""
    above = np.flatnonzero(g > 1.0)
    if above.size == 0:
        return float("nan")
    start = above[0]
    below = np.flatnonzero(g[start:] < 1.0)
    stop = start + (below[0] if below.size else len(g) - start)
    return float(r[start + np.argmax(g[start:stop])])
