"""Datasets: container, files (npz, extxyz via ASE), validation, splits and batches."""

from mlip_lab.data.batch import Batch
from mlip_lab.data.dataset import Dataset
from mlip_lab.data.io import from_ase, load, load_npz, read_extxyz, save_npz, shipped_datasets, to_ase, write_extxyz
from mlip_lab.data.validation import CATEGORIES, MIN_DISTANCE, check_atoms_apart

__all__ = [
    "CATEGORIES", "MIN_DISTANCE", "Batch", "Dataset", "check_atoms_apart", "from_ase", "load", "load_npz",
    "read_extxyz", "save_npz", "shipped_datasets", "to_ase", "write_extxyz",
]
