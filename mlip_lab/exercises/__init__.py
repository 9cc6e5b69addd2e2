"""Checkers for the notebooks' exercises: each takes the student's answer and says what is right or wrong."""

from mlip_lab.exercises.checking import CheckResult

__all__ = ["CheckResult"]
