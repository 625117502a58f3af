"""Fine-tuning throughput, ours against the Hugging Face `Trainer`, on the same model, data and steps.

Usage: python benchmarks/finetune_speed.py [--study DIR] [--models xlmr mbart] [--objective random-init]
                                           [--task topic] [--repeats 3] [--threads 1] [--profile]
Needs the `bench` extra (accelerate, which `Trainer` requires). The model is a default-study checkpoint
(--objective; `random-init` needs no pretraining and costs the same per step as `source`), fine-tuned on
English --task with the study's own settings (3 epochs, batch 32, lr 1e-3, 10% warm-up, dev evaluation
after each epoch). Without --study, the few jobs that make those files (corpora, tokenizer, the task's
English splits, the checkpoints) run first in a copy of this checkout's workflow under a temporary folder
(~1 minute). Each side runs in its own fresh process, --threads threads, the order alternating per repeat:
- ours: `mtbridge.finetuning.finetune` with the job's parameters (as the DAG wrote them), timing its
  `train` call (the optimizer steps and the per-epoch dev evaluations);
- Trainer: the same `EncoderClassifier` (encoder + our head), the same encoded examples and collate
  function, `TrainingArguments` with the same batch, epochs, learning rate, warm-up steps, weight decay
  0.01, clipping 1.0, `optim="adamw_torch"`, linear decay, `eval_strategy="epoch"`, `save_strategy="no"`
  (Trainer exempts biases and LayerNorm weights from weight decay, ours does not), timing `train()`.
Prints per side the fastest repeat's seconds, examples/s (epochs x training examples / seconds) and
the best dev score over the evaluations (what ours selects on), then the ratio ours / Trainer, with the
load average. --profile adds one cProfile run of each side: cumulative seconds in forward, backward,
optimizer, clipping, evaluation and batching, to show where the time goes.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import load_average, require

ROOT = Path(__file__).resolve().parents[1]
# the functions a profile is summed over, by (file name ending, function name)
PROFILED = {
    "forward": ("mtbridge/models.py", "forward"),
    "backward": ("torch/_tensor.py", "backward"),
    "optimizer step": ("torch/optim/optimizer.py", "wrapper"),
    "clip gradients": ("torch/nn/utils/clip_grad.py", "clip_grad_norm_"),
    "zero gradients": ("torch/optim/optimizer.py", "zero_grad"),
    "dev evaluation (ours)": ("mtbridge/finetuning.py", "evaluate"),
    "dev evaluation (Trainer)": ("transformers/trainer.py", "evaluate"),
    "batches (ours)": ("mtbridge/finetuning.py", "<lambda>"),
    "collate": ("mtbridge/finetuning.py", "collate"),
}


def targets(model: str, objective: str, task: str) -> list[str]:
    from mtbridge import paths

    return [paths.checkpoint(model, objective, 1), paths.task_split(task, "train", "en"),
            paths.task_split(task, "dev", "en")]


def prepare(workdir: Path, models: list[str], objective: str, task: str) -> Path:
    """The study folder with the checkpoints, the English splits and the finetune jobs' settings."""
    from mtbridge import paths
    from mtbridge.snakemake_runs import copy_workflow, run_snakemake

    copy_workflow(ROOT, workdir)
    finetuned = [paths.finetuned(model, objective, 1, task, 1) for model in models]
    run_snakemake(workdir, "-n", "--cores", "1", *finetuned, check=True)  # writes the jobs' settings
    needed = [path for model in models for path in targets(model, objective, task)]
    run_snakemake(workdir, *needed, "--cores", "2", "--quiet", check=True)  # targets before --quiet
    return workdir / "studies" / "default"


def job(study: Path, model: str, objective: str, task: str) -> dict:
    """The finetune job's keyword arguments, as the DAG resolved them."""
    settings = study / ".mtbridge" / "settings" / "finetune" / model / objective / "1" / task / "1.json"
    params = json.loads(settings.read_text())["params"]
    checkpoint, train, dev = (str(study / path) for path in targets(model, objective, task))
    return {**params, "checkpoint_dir": checkpoint, "train_path": train, "dev_path": dev, "seed": 1,
            "head": {"model": model, "objective": objective}}


def ours(arguments: dict, output: Path, threads: int) -> dict:
    from mtbridge import finetuning

    timed: dict = {}
    original = finetuning.train

    def train(*args, **kwargs):
        started = time.perf_counter()
        record = original(*args, **kwargs)
        timed.update(seconds=time.perf_counter() - started, score=kwargs["extra"].get()["score"])
        return record

    finetuning.train = train
    finetuning.finetune(**arguments, output_dir=str(output / "ours"), threads=threads)
    return timed


def trainer(arguments: dict, output: Path, threads: int) -> dict:
    from transformers import Trainer, TrainingArguments

    from mtbridge.finetuning import collate, encode_split, read_split
    from mtbridge.models import EncoderClassifier, load_encoder
    from mtbridge.tasks import task_of
    from mtbridge.tokenizer import framing, load_tokenizer
    from mtbridge.training import seed_everything

    definition, spec, settings = task_of(arguments["task"]), arguments["spec"], arguments["settings"]
    seed_everything(arguments["seed"], threads)
    tokenizer = load_tokenizer(arguments["checkpoint_dir"])
    frame = framing(tokenizer, spec["architecture"], arguments["languages"], spec.get("language_fallback"))
    examples = {split: encode_split(read_split(arguments[f"{split}_path"], definition), definition, tokenizer,
                                    frame, spec["max_length"], arguments[f"{split}_path"])
                for split in ("train", "dev")}
    model = EncoderClassifier(load_encoder(arguments["checkpoint_dir"]), len(definition.labels), False,
                              settings["dropout"], settings["pooling"])
    steps = settings["epochs"] * -(-len(examples["train"]) // settings["batch_size"])
    options = TrainingArguments(
        output_dir=str(output / "trainer"), per_device_train_batch_size=settings["batch_size"],
        per_device_eval_batch_size=settings.get("eval_batch_size", 64), num_train_epochs=settings["epochs"],
        learning_rate=settings["learning_rate"], warmup_steps=round(settings["warmup_ratio"] * steps),
        weight_decay=0.01, max_grad_norm=1.0, optim="adamw_torch", lr_scheduler_type="linear",
        eval_strategy="epoch", save_strategy="no", logging_strategy="no", report_to="none", use_cpu=True,
        seed=arguments["seed"], dataloader_num_workers=0, disable_tqdm=True, remove_unused_columns=False)
    run = Trainer(model=model, args=options, train_dataset=examples["train"], eval_dataset=examples["dev"],
                  data_collator=lambda batch: collate(batch, frame.pad, False),
                  compute_metrics=lambda scored: {"accuracy": float((scored.predictions.argmax(-1)
                                                                     == scored.label_ids).mean())})
    started = time.perf_counter()
    run.train()
    seconds = time.perf_counter() - started
    scores = [entry["eval_accuracy"] for entry in run.state.log_history if "eval_accuracy" in entry]
    return {"seconds": seconds, "score": max(scores), "steps": run.state.global_step}


def profiled(compute, *args) -> dict[str, float]:
    """Cumulative seconds in the PROFILED functions during one call."""
    profile = cProfile.Profile()
    profile.runcall(compute, *args)
    stats = pstats.Stats(profile).stats  # (file, line, function) -> (calls, ..., total, cumulative, callers)
    found = dict.fromkeys(PROFILED, 0.0)
    for (filename, _, function), (_, _, _, cumulative, _) in stats.items():
        for label, (suffix, name) in PROFILED.items():
            if function == name and filename.endswith(suffix):
                found[label] += cumulative
    return {label: seconds for label, seconds in found.items() if seconds}


def side(name: str, study: Path, model: str, objective: str, task: str, threads: int, profile: bool) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    arguments = job(study, model, objective, task)
    output = Path(tempfile.mkdtemp(prefix="mtbridge-ft-"))
    compute = ours if name == "ours" else trainer
    if profile:
        print(json.dumps(profiled(compute, arguments, output, threads)))
        return
    result = compute(arguments, output, threads)
    from mtbridge.finetuning import read_split
    from mtbridge.tasks import task_of

    examples = len(read_split(arguments["train_path"], task_of(arguments["task"])))
    print(json.dumps({**result, "examples": examples * arguments["settings"]["epochs"]}))


def run_side(name: str, study: Path, model: str, arguments: argparse.Namespace,
             profile: bool = False) -> dict:
    """One side in a fresh process; its JSON result."""
    command = [sys.executable, __file__, "--side", name, "--study", str(study), "--models", model,
               "--objective", arguments.objective, "--task", arguments.task,
               "--threads", str(arguments.threads), *(["--profile"] if profile else [])]
    environment = {**os.environ, "TRANSFORMERS_VERBOSITY": "error", "HF_HUB_OFFLINE": "1",
                   "OMP_NUM_THREADS": str(arguments.threads)}
    run = subprocess.run(command, capture_output=True, text=True, env=environment)
    if run.returncode:
        raise SystemExit(f"{name} failed:\n{run.stderr[-3000:]}")
    return json.loads(run.stdout.strip().splitlines()[-1])


def compare(study: Path, model: str, arguments: argparse.Namespace) -> None:
    runs: dict[str, list[dict]] = {"ours": [], "Trainer": []}
    for repeat in range(arguments.repeats):
        for name in ("ours", "Trainer") if repeat % 2 == 0 else ("Trainer", "ours"):
            runs[name].append(run_side(name, study, model, arguments))
    best = {name: min(results, key=lambda result: result["seconds"]) for name, results in runs.items()}
    for name, result in best.items():
        every = ", ".join(f"{other['seconds']:.2f}" for other in runs[name])
        scores = ", ".join(f"{other['score']:.4f}" for other in runs[name])
        print(f"{model:<6} {name:<8} {result['seconds']:>7.2f} s ({every}) "
              f"{result['examples'] / result['seconds']:>7.0f} examples/s, best dev score {scores}",
              flush=True)
    print(f"{model:<6} ours / Trainer speed: {best['Trainer']['seconds'] / best['ours']['seconds']:.2f}x; "
          f"{load_average()}", flush=True)
    if arguments.profile:
        for name in ("ours", "Trainer"):
            found = run_side(name, study, model, arguments, profile=True)
            print(f"{model:<6} {name:<8} profile: " + ", ".join(f"{label} {seconds:.2f} s"
                                                          for label, seconds in found.items()), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", type=Path, help="a default-study folder with the files (default: make)")
    parser.add_argument("--models", nargs="+", default=["xlmr", "mbart"])
    parser.add_argument("--objective", default="random-init")
    parser.add_argument("--task", default="topic")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="also profile one run of each side")
    parser.add_argument("--side", choices=["ours", "Trainer"], help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    require(["accelerate"])
    sys.path.insert(0, str(ROOT))  # this checkout's mtbridge
    if arguments.side:
        side(arguments.side, arguments.study, arguments.models[0], arguments.objective, arguments.task,
             arguments.threads, arguments.profile)
        return
    print(load_average(), flush=True)
    study = arguments.study or prepare(Path(tempfile.mkdtemp(prefix="mtbridge-ft-study-")), arguments.models,
                                       arguments.objective, arguments.task)
    for model in arguments.models:
        compare(study, model, arguments)


if __name__ == "__main__":
    main()
