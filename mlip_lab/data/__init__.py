"""Datasets: container, files (npz, extxyz via ASE), validation, splits and batches."""

from mlip_lab.data.batch import Batch
from mlip_lab.data.dataset import Dataset
from mlip_lab.data.io import from_ase, load, load_npz, read_extxyz, save_npz, shipped_datasets, to_ase, write_extxyz

__all__ = [
    "Batch", "Dataset", "from_ase", "load", "load_npz", "read_extxyz", "save_npz", "shipped_datasets",
    "to_ase", "write_extxyz",
]
