"""What the benchmark scripts share: a mean ± spread over seeds, as their tables print it."""

import numpy as np


def mean_spread(values) -> str:
    """"mean ± std" of per-seed values; infinite ones (e.g. a median time to failure beyond the run length) are
    left out and counted."""
    values = np.asarray(values, dtype=float)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return f"undefined for all {values.size} seeds (beyond the run length)"
    if finite.size < values.size:
        return f"{np.mean(finite):.3g} ± {np.std(finite):.2g} ({values.size - finite.size} of {values.size} > run length)"
    return f"{values.mean():.3g} ± {values.std():.2g}"
