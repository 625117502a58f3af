"""The one training loop every objective shares, with progress in the job's log.

Sharing the loop is what makes budgets comparable: every objective gets the same
optimizer, schedule, clipping and step count, and only its batches differ.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import get_linear_schedule_with_warmup

LOG = logging.getLogger("mtbridge")

Batch = dict[str, torch.Tensor]


def seed_everything(seed: int, threads: int) -> random.Random:
    """Fix every random source used by a job; return the job's own Python RNG.

    On CUDA, cuBLAS needs a fixed workspace to be deterministic, and a few kernels have no
    deterministic version: those warn instead of failing, so GPU runs are close, not bitwise equal.
    """
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=torch.cuda.is_available())
    return random.Random(seed)


@dataclass(frozen=True)
class Device:
    """Where a job computes, and in which precision its forward passes run."""

    device: torch.device
    autocast: torch.dtype | None = None

    def context(self):
        """bfloat16 autocast on a GPU that supports it; a no-op otherwise."""
        if self.autocast is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.autocast)

    def move(self, batch: Batch) -> Batch:
        return {key: value.to(self.device) for key, value in batch.items()}


def select_device(settings: dict | None = None) -> Device:
    """The config's `device` section made concrete: CUDA when asked for or (auto) when visible."""
    settings = settings or {}
    accelerator = settings.get("accelerator", "auto")
    if accelerator == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("config key device.accelerator: 'cuda' asked for, but no CUDA device is visible")
    use_cuda = accelerator == "cuda" or (accelerator == "auto" and torch.cuda.is_available())
    if not use_cuda:
        return Device(torch.device("cpu"))
    bf16 = settings.get("autocast", "auto") != "none" and torch.cuda.is_bf16_supported()
    return Device(torch.device("cuda"), torch.bfloat16 if bf16 else None)


def pad(sequences: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    """Right-pad integer sequences into a (batch × longest) tensor."""
    width = max(len(sequence) for sequence in sequences)
    return torch.tensor([list(sequence) + [value] * (width - len(sequence)) for sequence in sequences],
                        dtype=torch.long)


@dataclass(frozen=True)
class Schedule:
    """Optimisation settings shared by pretraining, continued pretraining and fine-tuning."""

    steps: int
    learning_rate: float
    warmup_steps: int
    gradient_accumulation: int = 1
    max_grad_norm: float = 1.0
    log_every: int = 50


@dataclass(frozen=True)
class Resume:
    """Where a training job keeps its last state, so that a killed job (preemption, time limit)
    continues from there on its next attempt instead of from zero, and ends with the same weights.

    The folder is not a declared output (Snakemake deletes those when a job fails); ``key`` is
    the job's settings, so a state saved under other settings or code is ignored.
    """

    directory: Path
    key: str
    every: int  # optimizer steps between saves; 0 saves nothing

    @property
    def path(self) -> Path:
        return self.directory / "state.pt"

    def load(self) -> dict[str, Any] | None:
        if not self.path.exists():
            return None
        state = torch.load(self.path, weights_only=True)
        return state if state.get("key") == self.key else None

    def save(self, state: dict[str, Any]) -> None:
        """Atomically: a kill while saving leaves the previous state."""
        self.directory.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_suffix(".partial")
        torch.save({**state, "key": self.key}, partial)
        os.replace(partial, self.path)

    def clear(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def resume_from(settings: dict | None) -> Resume | None:
    """A job's ``resume`` argument (directory, key, every) as a Resume; None when not given."""
    if not settings or not settings.get("every"):
        return None
    return Resume(Path(settings["directory"]), settings["key"], int(settings["every"]))


@dataclass(frozen=True)
class Extra:
    """Job state beyond the model and optimizer that a resumed run needs (e.g. the best dev state)."""

    get: Callable[[], Any]
    set: Callable[[Any], None]


def restore(state: dict[str, Any], model: nn.Module, optimizer, scheduler, next_batch: Callable[[], Batch],
            accumulation: int, rng: random.Random | None, extra: Extra | None) -> None:
    """Put a saved run back where it was: weights, optimizer, schedule, and the batch stream, which is
    replayed (its order depends only on the job's RNG) before the torch RNG is set to its saved state."""
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    for _ in range(state["step"] * accumulation):
        next_batch()
    if rng is not None and list(rng.getstate()[1]) != state["rng"]:
        raise RuntimeError("the replayed batch stream does not match the saved one; cannot resume exactly")
    torch.set_rng_state(state["torch_rng"])
    if torch.cuda.is_available() and state.get("cuda_rng") is not None:
        torch.cuda.set_rng_state_all(state["cuda_rng"])
    if extra is not None:
        extra.set(state["extra"])


def snapshot(step: int, model: nn.Module, optimizer, scheduler, running: float, read: dict[str, int],
             rng: random.Random | None, extra: Extra | None) -> dict[str, Any]:
    return {
        "step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(), "running": running, "read": read,
        "rng": list(rng.getstate()[1]) if rng is not None else None,
        "torch_rng": torch.get_rng_state(),
        "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
        "extra": extra.get() if extra is not None else None,
    }


def train(model: nn.Module, next_batch: Callable[[], Batch],
          loss_of: Callable[[nn.Module, Batch], torch.Tensor], schedule: Schedule,
          evaluate: Callable[[int], None] | None = None, evaluate_every: int = 0,
          device: Device | None = None, resume: Resume | None = None, rng: random.Random | None = None,
          extra: Extra | None = None) -> dict[str, float]:
    """Run ``schedule.steps`` AdamW steps with linear warm-up and decay; log loss and speed.

    Each step sums the gradients of ``schedule.gradient_accumulation`` batches, each loss scaled
    by its share, so a step sees the same effective batch on a small GPU as on a large one.
    ``evaluate(step)`` is called every ``evaluate_every`` steps and after the last one.
    With ``resume``, the state is saved every ``resume.every`` steps and a saved state is continued
    (``rng`` is the job's RNG that the batch stream draws from; ``extra`` any other job state).
    Returns the final running loss and what was read: sequences, input tokens (``tokens``) and
    target tokens (labels that count in the loss: a decoder's, or a masked LM's masked pieces).
    """
    device = device or Device(torch.device("cpu"))
    model.to(device.device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=schedule.learning_rate, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, schedule.warmup_steps, schedule.steps)
    model.train()
    running, started, first = None, time.perf_counter(), 1
    read = {"sequences": 0, "tokens": 0, "target_tokens": 0}
    saved = resume.load() if resume is not None else None
    if saved is not None:
        restore(saved, model, optimizer, scheduler, next_batch, schedule.gradient_accumulation, rng, extra)
        running, read, first = saved["running"], saved["read"], saved["step"] + 1
        LOG.info("resuming from step %d of %d (%s)", saved["step"], schedule.steps, resume.path)
    for step in range(first, schedule.steps + 1):
        step_loss = 0.0
        for _ in range(schedule.gradient_accumulation):
            batch = next_batch()
            for key, count in batch_reads(batch).items():
                read[key] += count
            batch = device.move(batch)
            with device.context():
                loss = loss_of(model, batch) / schedule.gradient_accumulation
            loss.backward()
            step_loss += loss.item()
        nn.utils.clip_grad_norm_(model.parameters(), schedule.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        running = step_loss if running is None else 0.98 * running + 0.02 * step_loss
        if step % schedule.log_every == 0 or step == schedule.steps:
            rate = step / (time.perf_counter() - started)
            LOG.info("step %d/%d loss %.4f %.2f steps/s %d tokens", step, schedule.steps, running,
                     rate, read["tokens"])
        if evaluate is not None and ((evaluate_every and step % evaluate_every == 0)
                                     or step == schedule.steps):
            evaluate(step)
            model.train()
        if resume is not None and step % resume.every == 0 and step < schedule.steps:
            resume.save(snapshot(step, model, optimizer, scheduler, running, read, rng, extra))
    return {"final_loss": round(float(running), 6), **read}


def budget_tokens(read: Mapping[str, int], seq2seq: bool) -> int:
    """What the continued-pretraining budget counts of a batch's (or a run's) reads: input tokens, plus the
    decoder's for seq2seq (a masked LM's targets are its own input)."""
    return read["tokens"] + (read["target_tokens"] if seq2seq else 0)


def batch_reads(batch: Batch) -> dict[str, int]:
    """Sequences, input tokens and target tokens (labels other than the ignored -100) of a batch."""
    return {"sequences": len(batch["input_ids"]), "tokens": int(batch["attention_mask"].sum()),
            "target_tokens": int((batch["labels"] != -100).sum())}
