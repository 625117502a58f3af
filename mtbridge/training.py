"""The one training loop every objective shares, with progress in the job's log.

Sharing the loop is what makes budgets comparable: every objective gets the same
optimizer, schedule, clipping and step count, and only its batches differ.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from transformers import get_linear_schedule_with_warmup

LOG = logging.getLogger("mtbridge")

Batch = dict[str, torch.Tensor]


def seed_everything(seed: int, threads: int) -> random.Random:
    """Fix every random source used by a job; return the job's own Python RNG."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    return random.Random(seed)


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
    max_grad_norm: float = 1.0
    log_every: int = 50


def train(model: nn.Module, next_batch: Callable[[], Batch],
          loss_of: Callable[[nn.Module, Batch], torch.Tensor], schedule: Schedule,
          evaluate: Callable[[int], None] | None = None, evaluate_every: int = 0) -> dict[str, float]:
    """Run ``schedule.steps`` AdamW steps with linear warm-up and decay; log loss and speed.

    ``evaluate(step)`` is called every ``evaluate_every`` steps and after the last one.
    Returns the final running loss and the number of input tokens read (the budget).
    """
    optimizer = torch.optim.AdamW(model.parameters(), lr=schedule.learning_rate, weight_decay=0.01)
    scheduler = get_linear_schedule_with_warmup(optimizer, schedule.warmup_steps, schedule.steps)
    model.train()
    running, tokens, started = None, 0, time.perf_counter()
    for step in range(1, schedule.steps + 1):
        batch = next_batch()
        tokens += int(batch["attention_mask"].sum())
        loss = loss_of(model, batch)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), schedule.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % schedule.log_every == 0 or step == schedule.steps:
            rate = step / (time.perf_counter() - started)
            LOG.info("step %d/%d loss %.4f %.2f steps/s %d tokens", step, schedule.steps, running,
                     rate, tokens)
        if evaluate is not None and ((evaluate_every and step % evaluate_every == 0)
                                     or step == schedule.steps):
            evaluate(step)
            model.train()
    return {"final_loss": round(float(running), 6), "tokens": tokens}
