"""Running under torchrun: process group, device per rank, metric reduction.

torchrun (single- or multi-node) sets RANK, WORLD_SIZE and LOCAL_RANK; with a
world size above 1, `specc train` joins a process group (NCCL on GPUs, gloo on
CPUs), wraps the module in DistributedDataParallel and shards every mini-batch
across the ranks. Only rank 0 writes files and prints; metrics are summed over
all ranks so they describe the whole data, as a single process would.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..errors import SpeccError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def detect() -> World:
    """The torchrun environment, or a world of one process."""
    try:
        size = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", "0"))
    except ValueError as exc:
        raise SpeccError(f"bad torchrun environment (RANK/WORLD_SIZE/LOCAL_RANK): {exc}", 2) from exc
    return World(rank, size, local)


def start(world: World, device: torch.device) -> None:
    """Join the process group; NCCL for CUDA devices, gloo otherwise."""
    if not world.distributed or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=world.rank, world_size=world.size,
                            device_id=device if device.type == "cuda" else None)


def stop(world: World) -> None:
    if world.distributed and dist.is_initialized():
        dist.destroy_process_group()


def together(world: World) -> None:
    """Wait until every rank gets here. A finished run calls it before leaving the group:
    a gloo rank whose peer had already left aborted (SIGABRT) now and then under load."""
    if world.distributed:
        dist.barrier()


def wrap(module: torch.nn.Module, world: World, device: torch.device, unused: bool = False) -> torch.nn.Module:
    """DistributedDataParallel under torchrun. ``unused``: some parameters never get a gradient (a
    layer nothing reads is built but not computed), which DDP refuses unless told to look for them."""
    if not world.distributed:
        return module
    from torch.nn.parallel import DistributedDataParallel

    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids, find_unused_parameters=unused)


def total(values: torch.Tensor, world: World) -> torch.Tensor:
    """Sum a tensor of per-rank counts over all ranks (in place)."""
    if world.distributed:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def agree(flag: bool, world: World, device: torch.device) -> bool:
    """True on every rank if it is true on any (e.g. a NaN loss seen by one rank)."""
    if not world.distributed:
        return flag
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    return bool(total(value, world).item() > 0)
