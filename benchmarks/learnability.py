"""How much English training data a task needs before the study's models learn it at all.

Usage: python benchmarks/learnability.py --study DIR [--model mbart] [--objective source] [--task nli]
                                         [--train-sizes 1500 20000] [--epochs 3] [--seed 1]
                                         [--dev-size 400] [--probe fronting|identical|unrelated]
DIR is a finished study (`studies/default` after `scripts/study.sh`, or `studies/micro`). For each size,
the task's English training split is generated again with that many examples (the study's own world and
seed, `mtbridge.data.write_task_split`, into a temporary folder), and with --dev-size its dev split too
(a micro study's 64 dev examples are too few to read); the study's checkpoint is fine-tuned on it with
the study's settings for the task, --epochs epochs, one thread. Prints, per size, the steps and the best
English dev score (what fine-tuning selects on), beside the dev set's majority class.

--probe asks what in paraphrase the models cannot learn, on pairs easier than the task's (both sides
active, subject and object swapped for "different", word multisets equal): `fronting`, the location
phrase fronted on one side only, so word order alone tells the classes apart; `identical`, no rewrite,
so a paraphrase is the same string twice; `unrelated`, the same string twice against another sentence
(words differ too: the check that a pair's second text reaches the model at all). The task itself
balances word order against voice so that neither order nor word sets solve it (docs/world.md); these
probes are not tasks of the study.
"""

from __future__ import annotations

import argparse
import collections
import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from _common import load_average, one_thread
from finetune_speed import job

PROBES = ("fronting", "identical", "unrelated")
PROBE_DEV_SIZE = 400  # a probe has no dev split in the study: its own, this size unless --dev-size


def majority_share(dev_path: str) -> float:
    from mtbridge.io import read_parquet

    labels = read_parquet(dev_path).column("label").to_pylist()
    return max(collections.Counter(labels).values()) / len(labels)


def split_settings(study: Path, task: str, split: str) -> dict:
    return json.loads((study / ".mtbridge/settings/write_task_split" / task / split / "en.json").read_text())[
        "params"]


def probe_rows(world: dict, seed: int, split: str, size: int, probe: str) -> list[dict]:
    """SIZE English pairs of the --probe kind, half of them paraphrases (odd rows are "different")."""
    from mtbridge.synthetic import PARAPHRASE_PROFILE, World

    synthetic = World(world, seed)
    english = synthetic.language("en")
    rows = []
    for index in range(size):
        rng = random.Random(f"{seed}-{probe}-{split}-{index}")
        while True:
            event = replace(synthetic.event(rng, PARAPHRASE_PROFILE), fronted=rng.random() < 0.5)
            swapped = replace(event, subject=event.object, object=event.subject)
            a, different = english.text(((event,),)), english.text(((swapped,),))
            if sorted(a.split()) == sorted(different.split()):  # same words: no agreement leak
                break
        other = swapped if index % 2 else event
        if probe == "unrelated" and index % 2:
            other = synthetic.event(rng, PARAPHRASE_PROFILE)
        if probe == "fronting":
            other = replace(other, fronted=not event.fronted)
        rows.append({"id": f"probe-{split}-{index}", "language": "en", "text_a": a,
                     "text_b": english.text(((other,),)),
                     "label": "different" if index % 2 else "paraphrase"})
    return rows


def write_split(study: Path, arguments: argparse.Namespace, split: str, size: int, path: Path) -> None:
    from mtbridge.data import write_task_split
    from mtbridge.io import write_parquet
    from mtbridge.tasks import schema_for

    settings = split_settings(study, arguments.task, split)
    world = {**settings["world"], "sizes": {split: size}}
    if arguments.probe:
        write_parquet(probe_rows(world, settings["seed"], split, size, arguments.probe), path,
                      schema_for("classification"))
    else:
        write_task_split(world=world, seed=settings["seed"], task=arguments.task, split=split,
                         language="en", path=path)


def learn(study: Path, arguments: argparse.Namespace, size: int, folder: Path) -> dict:
    """Fine-tune on a regenerated English split of SIZE examples; the selected dev score and its cost."""
    from mtbridge.finetuning import finetune

    kwargs = job(study, arguments.model, arguments.objective, arguments.task)
    train_path = folder / f"train-{size}.parquet"
    write_split(study, arguments, "train", size, train_path)
    if arguments.dev_size or arguments.probe:
        kwargs["dev_path"] = str(folder / "dev.parquet")
        write_split(study, arguments, "dev", arguments.dev_size or PROBE_DEV_SIZE, Path(kwargs["dev_path"]))
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
    parser.add_argument("--dev-size", type=int, help="regenerate the English dev split at this size")
    parser.add_argument("--probe", choices=PROBES, help="paraphrase probe pairs instead of the task's")
    arguments = parser.parse_args()
    if arguments.probe and arguments.task != "paraphrase":
        parser.error("--probe needs --task paraphrase")
    one_thread()
    with tempfile.TemporaryDirectory(prefix="mtbridge-learnability-") as folder:
        for size in arguments.train_sizes:
            result = learn(arguments.study.resolve(), arguments, size, Path(folder))
            task = f"{arguments.task} ({arguments.probe} probe)" if arguments.probe else arguments.task
            print(f"{arguments.model} {arguments.objective} {task}: {size:>6} English examples × "
                  f"{arguments.epochs} epochs: best dev {100 * result['dev']:.1f} at step {result['step']} "
                  f"(majority class {100 * result['majority']:.1f}); {result['seconds']:.0f} s", flush=True)
    print(load_average())


if __name__ == "__main__":
    main()
