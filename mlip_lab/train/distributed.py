"""Data-parallel training on torch.distributed: the Trainer's side of ``torchrun``.

Under ``torchrun --nproc_per_node=K script.py`` (or any launcher that sets ``WORLD_SIZE``, ``RANK`` and the
rendezvous variables) every process builds the same Trainer; the Trainer starts the process group (gloo on CPU,
nccl on CUDA), and each rank computes the loss on its shard of every global batch. The gradients are combined
with the shards' weights so that the step equals the step on the whole global batch for loss terms that are means
over configurations of equal size (e.g. MAE/MSE-type terms on one molecule); RMSE terms and mixed molecule sizes
make it a close approximation. Only rank 0 writes checkpoints, shows progress and runs callbacks. Without
``WORLD_SIZE`` > 1 nothing here does anything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class Ranks:
    """This process's ``rank`` among ``world`` processes (0 of 1 when not distributed); ``device`` is where its
    collectives' tensors live (the training device: nccl only takes CUDA tensors)."""

    rank: int = 0
    world: int = 1
    device: str = "cpu"

    @property
    def main(self) -> bool:
        """Rank 0: the process that writes files, shows progress and runs callbacks."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def shard(self, indices: np.ndarray) -> np.ndarray:
        """This rank's rows of a global batch: every world-th row starting at its rank."""
        return indices[self.rank :: self.world]


def join_process_group(device: torch.device) -> tuple[Ranks, torch.device]:
    """(the ranks of this process, the device it trains on), starting the process group when a launcher asked for
    several processes.

    gloo serves CPU tensors and nccl CUDA ones. A CUDA run trains each rank on the GPU of its ``LOCAL_RANK``
    (``cuda:LOCAL_RANK``), so a script written for one GPU spreads over all of them unchanged.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 and not (dist.is_available() and dist.is_initialized()):
        return Ranks(), device
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Ranks(dist.get_rank(), dist.get_world_size(), str(device)), device


def combine_gradients(parameters, weight: float, ranks: Ranks) -> None:
    """Sum ``weight`` x each rank's gradients over the ranks (weight: this rank's share of the global batch).

    Parameters a rank did not reach (an empty shard) count as zero gradients, so every rank joins every sum.
    """
    if not ranks.distributed:
        return
    for parameter in parameters:
        if not parameter.requires_grad:
            continue
        if parameter.grad is None:
            parameter.grad = torch.zeros_like(parameter)
        else:
            parameter.grad.mul_(weight)
        dist.all_reduce(parameter.grad)


def sum_over_ranks(values: dict[str, torch.Tensor], ranks: Ranks) -> dict[str, torch.Tensor]:
    """Element-wise sums of ``values`` (same keys on every rank) over the ranks."""
    if not ranks.distributed:
        return values
    summed = {}
    for name in sorted(values):  # the same order on every rank: collectives must match up
        tensor = torch.as_tensor(values[name], dtype=torch.float64, device=ranks.device).clone()
        dist.all_reduce(tensor)
        summed[name] = tensor
    return summed


def any_rank(flag: bool, ranks: Ranks) -> bool:
    """True on every rank when ``flag`` is True on any (e.g. a stop requested on rank 0's dashboard)."""
    if not ranks.distributed:
        return flag
    tensor = torch.tensor(int(flag), device=ranks.device)
    dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
    return bool(tensor)


def agree(value: int, ranks: Ranks) -> int:
    """Rank 0's ``value`` on every rank (e.g. the seed of an epoch's batch order)."""
    if not ranks.distributed:
        return value
    tensor = torch.tensor(int(value), dtype=torch.int64, device=ranks.device)
    dist.broadcast(tensor, src=0)
    return int(tensor)


def same_start(model: torch.nn.Module, ranks: Ranks) -> None:
    """Give every rank rank 0's weights and buffers (they may have been initialised with other seeds)."""
    if not ranks.distributed:
        return
    for tensor in model.state_dict().values():
        dist.broadcast(tensor, src=0)
