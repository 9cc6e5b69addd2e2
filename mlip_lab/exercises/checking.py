"""The result type every checker returns, rendered nicely in a notebook."""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    """``passed`` and a message explaining what is right or what to look at."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return ("✅ " if self.passed else "❌ ") + self.message

    def _repr_html_(self) -> str:
        """A coloured line; ``data-check`` ("passed" or "failed") lets the notebook tests read the verdict."""
        colour = "#1b7f3b" if self.passed else "#b42318"
        verdict = "passed" if self.passed else "failed"
        return f'<div data-check="{verdict}" style="color:{colour};font-weight:600">{html.escape(str(self))}</div>'


def student_tensor(fn, *args, dtype=None):
    """Call the student's function and convert its answer to a tensor.

    Returns (tensor, None) or (None, failed CheckResult): an exception in student code, or an answer that is
    not numeric, becomes feedback instead of a traceback.
    """
    try:
        answer = fn(*args)
    except Exception as exc:  # noqa: BLE001 - any error in student code is feedback, not a crash
        return None, CheckResult(False, f"your function raised {type(exc).__name__}: {exc}")
    import torch

    try:
        return torch.as_tensor(answer if not isinstance(answer, torch.Tensor) else answer.detach(), dtype=dtype), None
    except (TypeError, ValueError, RuntimeError):
        return None, CheckResult(False, f"return a tensor or array of numbers, got {type(answer).__name__}")
