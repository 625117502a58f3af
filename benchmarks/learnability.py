"""How much English training data a task needs before the default-size models learn it at all.

Usage: python benchmarks/learnability.py --study DIR [--model mbart] [--objective source] [--task nli]
                                         [--train-sizes 1500 20000] [--epochs 3] [--seed 1]
DIR is a finished default study (`studies/default` after `scripts/study.sh`). For each size, the task's
English training split is generated again with that many examples (the study's own world and seed,
`mtbridge.data.write_task_split`, into a temporary folder) and the study's checkpoint is fine-tuned on
it with the study's settings for the task, --epochs epochs, one thread. Prints, per size, the steps and
the best English dev score (what fine-tuning selects on), beside the dev set's majority class: NLI and
paraphrase stay near it at the study's 1,500 examples (docs/results.md).
"""

from __future__ import annotations

import argparse
import collections
import json
import tempfile
import time
from pathlib import Path

from _common import load_average, one_thread
from finetune_speed import job


def majority_share(dev_path: str) -> float:
    from mtbridge.io import read_parquet

    labels = read_parquet(dev_path).column("label").to_pylist()
    return max(collections.Counter(labels).values()) / len(labels)


def learn(study: Path, arguments: argparse.Namespace, size: int, folder: Path) -> dict:
    """Fine-tune on a regenerated English split of SIZE examples; the selected dev score and its cost."""
    from mtbridge.data import write_task_split
    from mtbridge.finetuning import finetune

    split = json.loads((study / ".mtbridge/settings/write_task_split" / arguments.task / "train/en.json")
                       .read_text())["params"]
    world = {**split["world"], "sizes": {**split["world"]["sizes"], "train": size}}
    train_path = folder / f"train-{size}.parquet"
    write_task_split(world=world, seed=split["seed"], task=arguments.task, split="train", language="en",
                     path=train_path)
    kwargs = job(study, arguments.model, arguments.objective, arguments.task)
    kwargs.update(train_path=str(train_path), seed=arguments.seed, threads=1,
                  settings={**kwargs["settings"], "epochs": arguments.epochs})
    output = folder / f"model-{size}"
    started = time.perf_counter()
    finetune(**kwargs, output_dir=str(output))
    head = json.loads((output / "head.json").read_text())
    return {"size": size, "dev": head["dev_score"], "step": head["selected_step"],
            "seconds": time.perf_counter() - started, "majority": majority_share(kwargs["dev_path"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--study", type=Path, required=True)
    parser.add_argument("--model", default="mbart")
    parser.add_argument("--objective", default="source")
    parser.add_argument("--task", default="nli")
    parser.add_argument("--train-sizes", type=int, nargs="+", default=[1500, 20000])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()
    one_thread()
    with tempfile.TemporaryDirectory(prefix="mtbridge-learnability-") as folder:
        for size in arguments.train_sizes:
            result = learn(arguments.study.resolve(), arguments, size, Path(folder))
            print(f"{arguments.model} {arguments.objective} {arguments.task}: {size:>6} English examples × "
                  f"{arguments.epochs} epochs: best dev {100 * result['dev']:.1f} at step {result['step']} "
                  f"(majority class {100 * result['majority']:.1f}); {result['seconds']:.0f} s", flush=True)
    print(load_average())


if __name__ == "__main__":
    main()
