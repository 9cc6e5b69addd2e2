"""Molecular dynamics and structure tools: the ASE calculator adapter for trained models."""

from mlip_lab.md.calculator import MLIPCalculator, model_elements

__all__ = ["MLIPCalculator", "model_elements"]
