"""GPU check: the mBART-50-sized path end to end on stand-in weights, timed phase by phase.

Usage: python benchmarks/gpu_check.py [--device cuda|cpu] [--size mbart-large-50|tiny]
       [--budget-s 280] [--threads N] [--workdir DIR] [--output results.json]
       (or scripts/gpu_check.sh with the same arguments)

A random-weight model with mbart-large-50's configuration (d_model 1024, 12+12 layers, 16 heads, ffn 4096,
vocabulary 250,054, 1,024 positions; 611M parameters) and an MBart50Tokenizer of the same size are built
offline and saved as the pipeline saves a hub family's ``random-init`` checkpoint
(``mtbridge.pretraining.random_init``). Then the pipeline's own job functions run on synthetic data, in
bfloat16 autocast on ``cuda`` (config ``device: {accelerator: cuda, autocast: bfloat16}``):

- continued-pretraining: ``continue_pretraining`` (mt-m2m), a few optimizer steps at the paper's batch
  shape (16 pairs × 8 accumulated); tokens = encoder + decoder tokens, sentences = pairs;
- fine-tuning: ``finetune`` on XNLI-format rows (16 × 2 per step); tokens = input tokens;
- prediction: ``predict`` on a test split (batches of 128);
- dump: ``dump_activations`` of every encoder layer in bfloat16 (batches of 128);
- spectra: ``write_spectra``, float64 singular values of every 2-D weight (the rate is matrices/s).

Each phase prints one line: steps, tokens/s, sentences/s, peak GPU memory
(``torch.cuda.max_memory_allocated``, reset per phase) and wall seconds. The rates cover the compute
only: the training loop from its second optimizer step on (the first carries CUDA start-up; dev
evaluation excluded), the scoring of the test split, the encoding of the dump, the SVDs; "wall s" is
the whole job call, loading and saving checkpoints included. With ``--output`` the same goes to a JSON
file. Without a visible CUDA GPU it refuses (exit 2) unless ``--device cpu``; on the CPU no autocast is
used (the pipeline autocasts only on a GPU) and peak memory is not measured. When ``--budget-s`` is
spent, the phase running is stopped, the rest are skipped, and it exits 3 with what it measured.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import os
import random
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # measure this checkout's mtbridge, whatever the environment has installed
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # as mtbridge.training sets it, before cuBLAS
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

PHASES = ("continued-pretraining", "fine-tuning", "prediction", "dump", "spectra")
LANGUAGES = ("en", "de")
SPECIALS = ("<s>", "<pad>", "</s>", "<unk>")
TOKENIZER_ADDS = 54  # MBart50Tokenizer appends 52 language codes, <mask> and one more id to the pieces


@dataclass(frozen=True)
class Size:
    """Model sizes and how much of each phase to run."""

    vocab: int
    width: int
    layers: int
    heads: int
    ffn: int
    positions: int
    max_length: int
    words: tuple[int, int]          # sentence length range, in words (one piece each)
    cpt: dict                       # continued pretraining: pairs per batch, accumulation, steps
    ft: dict                        # fine-tuning: batch, accumulation, steps
    test: int                       # prediction examples
    dump: int                       # dumped sentences
    eval_batch: int


SIZES = {
    # facebook/mbart-large-50's config.json; batch shapes of configs/paper.yaml
    "mbart-large-50": Size(vocab=250054, width=1024, layers=12, heads=16, ffn=4096, positions=1024,
                           max_length=128, words=(10, 50), cpt={"batch": 16, "accumulation": 8, "steps": 4},
                           ft={"batch": 16, "accumulation": 2, "steps": 8}, test=1024, dump=2048,
                           eval_batch=128),
    # the CPU smoke test: the same code path in seconds
    "tiny": Size(vocab=320, width=32, layers=1, heads=2, ffn=64, positions=64, max_length=32,
                 words=(3, 12), cpt={"batch": 4, "accumulation": 2, "steps": 3},
                 ft={"batch": 4, "accumulation": 1, "steps": 3}, test=24, dump=24, eval_batch=8),
}


class BudgetSpent(BaseException):
    """Raised by the budget's alarm wherever the check is; a BaseException (as KeyboardInterrupt is), so
    a library's ``except Exception`` around the code it interrupts cannot swallow it (one run of the test
    suite finished the whole check under a 0.01 s budget)."""


@dataclass
class Meter:
    """What the probes measured inside one library call."""

    timed_s: float = 0.0
    tokens: int = 0
    sentences: int = 0
    matrices: int = 0
    steps: int = 0
    excluded: dict = field(default_factory=dict)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--size", choices=tuple(SIZES), default="mbart-large-50")
    parser.add_argument("--budget-s", type=float, default=280.0,
                        help="total seconds allowed (default 280); past it, the rest is skipped (exit 3)")
    parser.add_argument("--threads", type=int, default=min(8, os.cpu_count() or 1))
    parser.add_argument("--workdir", help="where checkpoints go (default: a temporary folder, removed)")
    parser.add_argument("--output", help="write the results to this JSON file")
    return parser.parse_args(argv)


def synchronize(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


@contextlib.contextmanager
def patched(module, name: str, replacement) -> Iterator[None]:
    original = getattr(module, name)
    setattr(module, name, replacement)
    try:
        yield
    finally:
        setattr(module, name, original)


def timed_train(original: Callable, meter: Meter, device: str, seq2seq: bool) -> Callable:
    """mtbridge.training.train, timed from the start of its second optimizer step (the first carries CUDA
    and cuBLAS start-up) to its end, dev evaluations excluded; counts what the timed batches read."""
    from mtbridge.training import batch_reads, budget_tokens

    def train(model, next_batch, loss_of, schedule, evaluate=None, *args, **kwargs):
        accumulation = schedule.gradient_accumulation
        skip = accumulation if schedule.steps > 1 else 0
        calls = {"batches": 0, "started": None, "evaluating": 0.0}

        def counted():
            if calls["batches"] == skip:
                synchronize(device)
                calls["started"] = time.perf_counter()
            batch = next_batch()
            if calls["batches"] >= skip:
                read = batch_reads(batch)
                meter.tokens += budget_tokens(read, seq2seq)
                meter.sentences += read["sequences"]
            calls["batches"] += 1
            return batch

        def timed_evaluate(step):
            synchronize(device)
            started = time.perf_counter()
            evaluate(step)
            synchronize(device)
            calls["evaluating"] += time.perf_counter() - started

        record = original(model, counted, loss_of, schedule, timed_evaluate if evaluate else None,
                          *args, **kwargs)
        synchronize(device)
        meter.timed_s = time.perf_counter() - calls["started"] - calls["evaluating"]
        meter.steps = schedule.steps - (1 if skip else 0)
        meter.excluded = {"first_step": bool(skip), "dev_evaluation_s": round(calls["evaluating"], 3)}
        return record
    return train


def timed_call(original: Callable, meter: Meter, device: str,
               count: Callable[..., tuple[int, int, int, int]]) -> Callable:
    """``original`` timed (device synchronised); ``count(*args, result=, **kwargs)`` gives the tokens,
    sentences, matrices and steps (batches, or matrices) of the call."""
    def call(*args, **kwargs):
        synchronize(device)
        started = time.perf_counter()
        result = original(*args, **kwargs)
        synchronize(device)
        meter.timed_s += time.perf_counter() - started
        tokens, sentences, matrices, steps = count(*args, result=result, **kwargs)
        meter.tokens += tokens
        meter.sentences += sentences
        meter.matrices += matrices
        meter.steps += steps
        return result
    return call


# --- stand-in checkpoint and data -------------------------------------------------------------


def stand_in_source(size: Size, directory: Path) -> None:
    """An mbart-large-50-shaped hub folder without weights: config.json and an MBart50Tokenizer whose
    ``len`` is the model's vocabulary (pieces ``▁w<i>``, every synthetic word one piece)."""
    from transformers import MBart50Tokenizer, MBartConfig

    pieces = size.vocab - TOKENIZER_ADDS - len(SPECIALS) - 1
    vocab = [(special, 0.0) for special in SPECIALS] + [("▁", -5.0)]
    vocab += [(f"▁w{index}", -2.0) for index in range(pieces)]
    tokenizer = MBart50Tokenizer(vocab=vocab, src_lang="en_XX")
    config = MBartConfig(vocab_size=len(tokenizer), d_model=size.width, encoder_layers=size.layers,
                         decoder_layers=size.layers, encoder_attention_heads=size.heads,
                         decoder_attention_heads=size.heads, encoder_ffn_dim=size.ffn,
                         decoder_ffn_dim=size.ffn, max_position_embeddings=size.positions,
                         scale_embedding=True, dropout=0.1, attention_dropout=0.0, activation_function="gelu",
                         pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, decoder_start_token_id=tokenizer.eos_token_id,
                         forced_eos_token_id=tokenizer.eos_token_id)
    tokenizer.save_pretrained(directory)
    config.save_pretrained(directory)


class Text:
    """Random sentences of one-piece words drawn from the whole vocabulary (every embedding row is used)."""

    def __init__(self, size: Size, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.size = size
        self.pieces = size.vocab - TOKENIZER_ADDS - len(SPECIALS) - 1

    def sentence(self, low: int | None = None, high: int | None = None) -> str:
        count = self.rng.randint(low or self.size.words[0], high or self.size.words[1])
        return " ".join(f"w{self.rng.randrange(self.pieces)}" for _ in range(count))


def write_data(size: Size, root: Path) -> dict[str, Path]:
    from mtbridge.io import write_parquet
    from mtbridge.tasks import CLASSIFICATION_SCHEMA, CORPUS_SCHEMA, PARALLEL_SCHEMA

    text = Text(size)
    paths = {name: root / f"{name}.parquet" for name in ("parallel", "train", "dev", "test", "sentences")}
    pairs = size.cpt["batch"] * size.cpt["accumulation"] * size.cpt["steps"]
    write_parquet([{"id": str(index), "source_language": "en", "target_language": "de",
                    "source": text.sentence(), "target": text.sentence()} for index in range(pairs)],
                  paths["parallel"], PARALLEL_SCHEMA)
    low, high = size.words

    def nli(language: str, count: int) -> list[dict]:
        return [{"id": f"{language}-{index}", "language": language, "text_a": text.sentence(low, high),
                 "text_b": text.sentence(max(1, low // 2), max(1, high // 2)),
                 "label": ("entailment", "neutral", "contradiction")[index % 3]} for index in range(count)]

    train = size.ft["batch"] * size.ft["accumulation"] * size.ft["steps"]
    for name, language, count in (("train", "en", train), ("dev", "en", size.eval_batch),
                                  ("test", "de", size.test)):
        write_parquet(nli(language, count), paths[name], CLASSIFICATION_SCHEMA)
    sentences = [{"id": str(index), "language": "de", "text": text.sentence()} for index in range(size.dump)]
    write_parquet(sentences, paths["sentences"], CORPUS_SCHEMA)
    return paths


def mean_pair_tokens(path: Path, size: Size) -> float:
    """Mean framed tokens (both sides) of a pair, for a continued-pretraining budget of about N steps."""
    import pyarrow.parquet as pq

    rows = pq.read_table(path).to_pylist()
    words = [len(row["source"].split()) + len(row["target"].split()) for row in rows]
    return min(sum(words) / len(words) + 4, 2 * size.max_length)


# --- the run ------------------------------------------------------------------------------------


def run_phase(name: str, work: Path, size: Size, data: dict[str, Path], device: dict, threads: int,
              meter: Meter) -> None:
    """One pipeline job function, with its compute probed."""
    from mtbridge import analysis, finetuning, pretraining, representations
    from mtbridge import spectra as weight_spectra
    from mtbridge.xglue import xglue_task_spec

    accelerator = device["accelerator"]
    family = {"architecture": "mbart", "max_length": size.max_length, "language_fallback": {}}
    spec = xglue_task_spec("xnli")
    task = {"name": spec.name, "kind": spec.kind, "metric": spec.metric, "labels": list(spec.labels)}
    if name == "continued-pretraining":
        cpt = size.cpt
        pairs = cpt["steps"] * cpt["accumulation"] * cpt["batch"]
        settings = {"tokens": round(pairs * mean_pair_tokens(data["parallel"], size)),
                    "batch_size": cpt["batch"], "gradient_accumulation": cpt["accumulation"],
                    "learning_rate": 3e-5, "warmup_ratio": 0.1}
        with patched(pretraining, "train", timed_train(pretraining.train, meter, accelerator, seq2seq=True)):
            pretraining.continue_pretraining(
                spec=family, objective="mt-m2m", languages=list(LANGUAGES), train_language="en",
                settings=settings, source_dir=str(work / "random-init"), corpus_paths=[str(data["parallel"])],
                output_dir=str(work / "mt-m2m"), seed=1, threads=threads, device=device)
    elif name == "fine-tuning":
        ft = size.ft
        settings = {"epochs": 1, "batch_size": ft["batch"], "gradient_accumulation": ft["accumulation"],
                    "learning_rate": 2e-5, "warmup_ratio": 0.1, "dropout": 0.1, "evaluations_per_epoch": 1,
                    "pooling": "mean", "eval_batch_size": size.eval_batch}
        with patched(finetuning, "train", timed_train(finetuning.train, meter, accelerator, seq2seq=False)):
            finetuning.finetune(task=task, spec=family, languages=list(LANGUAGES), settings=settings,
                                checkpoint_dir=str(work / "mt-m2m"), train_path=str(data["train"]),
                                dev_path=str(data["dev"]), output_dir=str(work / "finetuned"), seed=1,
                                threads=threads, head={}, device=device)
    elif name == "prediction":
        def count(model, rows, examples, spec, pad_id, batch_size, *args, result, **kwargs):
            return (sum(len(example.ids) for example in examples), len(examples), 0,
                    math.ceil(len(examples) / batch_size))

        probe = timed_call(finetuning.score_split, meter, accelerator, count)
        with patched(finetuning, "score_split", probe):
            finetuning.predict(task=task, spec=family, languages=list(LANGUAGES),
                               finetuned_dir=str(work / "finetuned"), test_path=str(data["test"]),
                               predictions_path=str(work / "predictions.parquet"),
                               metrics_path=str(work / "metrics.json"),
                               meta={"model": "stand-in", "objective": "mt-m2m", "task": "xnli",
                                     "language": "de", "pretraining_seed": 1, "seed": 1},
                               threads=threads, batch_size=size.eval_batch, device=device)
    elif name == "dump":
        def count(encoder, sentences, pooling, batch_size, *args, result, **kwargs):
            lengths = [len(sentence.ids) for sentence in sentences]
            batches = len(list(representations.length_buckets(lengths, batch_size)))
            return sum(lengths), len(sentences), 0, batches

        with patched(representations, "pooled_layers",
                     timed_call(representations.pooled_layers, meter, accelerator, count)):
            representations.dump_activations(
                spec=family, languages=list(LANGUAGES), language="de", checkpoint_dir=str(work / "mt-m2m"),
                evaluation_path=str(data["sentences"]), output_path=str(work / "dump.safetensors"),
                pooling="mean", batch_size=size.eval_batch, precision="bfloat16", threads=threads, meta={},
                device=device)
    elif name == "spectra":
        def count(*args, result, **kwargs):
            matrices = result.groupby("parameter", sort=False).ngroups
            return 0, 0, matrices, matrices

        probe = timed_call(weight_spectra.spectra, meter, accelerator, count)
        with patched(weight_spectra, "spectra", probe):
            analysis.write_spectra(checkpoint_dir=str(work / "mt-m2m"),
                                   output_path=str(work / "spectra.parquet"), model="stand-in",
                                   objective="mt-m2m", threads=threads, device=device)
    else:
        raise ValueError(f"unknown phase {name!r}")


def rate(count: int, seconds: float) -> float | None:
    return round(count / seconds, 1) if count and seconds > 0 else None


def phase_result(name: str, meter: Meter, wall: float, peak: float | None) -> dict:
    return {"phase": name, "steps": meter.steps, "tokens": meter.tokens, "sentences": meter.sentences,
            "matrices": meter.matrices, "tokens_per_s": rate(meter.tokens, meter.timed_s),
            "sentences_per_s": rate(meter.sentences, meter.timed_s),
            "matrices_per_s": rate(meter.matrices, meter.timed_s), "timed_s": round(meter.timed_s, 3),
            "wall_s": round(wall, 3), "peak_memory_gib": peak, "excluded": meter.excluded}


HEADER = f"{'phase':<22} {'steps':>5} {'tokens/s':>10} {'sentences/s':>11} {'peak GiB':>9} {'wall s':>7}"


def line(result: dict) -> str:
    def show(value, digits=1):
        return "-" if value is None else f"{value:.{digits}f}"

    matrices = "" if result["matrices_per_s"] is None else f"  ({show(result['matrices_per_s'])} matrices/s)"
    return (f"{result['phase']:<22} {result['steps']:>5} {show(result['tokens_per_s']):>10} "
            f"{show(result['sentences_per_s']):>11} {show(result['peak_memory_gib'], 2):>9} "
            f"{result['wall_s']:>7.1f}{matrices}")


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()  # the budget counts imports too
    args = parse_args(argv)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print(f"gpu_check: no CUDA GPU visible (torch {torch.__version__}, CUDA build "
              f"{torch.version.cuda or 'none'}); run it on a GPU machine, or pass --device cpu for the "
              f"smoke test", file=sys.stderr)
        return 2
    import transformers

    from mtbridge.pretraining import random_init

    size = SIZES[args.size]
    on_gpu = args.device == "cuda"
    bf16 = on_gpu and torch.cuda.is_bf16_supported()
    device = {"accelerator": args.device, "autocast": "bfloat16" if on_gpu else "none"}
    name = torch.cuda.get_device_name() if on_gpu else "CPU"
    report = {"device": args.device, "gpu": name if on_gpu else None, "bf16_autocast": bf16,
              "torch": torch.__version__, "transformers": transformers.__version__, "size": args.size,
              "threads": args.threads, "budget_s": args.budget_s, "phases": [], "skipped": []}

    def spent(*_):
        raise BudgetSpent

    previous = signal.signal(signal.SIGALRM, spent)
    status = 0
    with (contextlib.nullcontext(args.workdir) if args.workdir else tempfile.TemporaryDirectory()) as folder:
        work = Path(folder)
        work.mkdir(parents=True, exist_ok=True)
        try:
            signal.setitimer(signal.ITIMER_REAL, max(args.budget_s - (time.perf_counter() - started), 0.001))
            setup = time.perf_counter()
            stand_in_source(size, work / "source")
            random_init(spec={"architecture": "mbart"}, tokenizer_dir=str(work / "source"),
                        output_dir=str(work / "random-init"), seed=1, threads=args.threads)
            data = write_data(size, work / "data")
            parameters = stored_parameters(work / "random-init" / "model.safetensors")
            report["parameters"] = parameters
            report["setup_s"] = round(time.perf_counter() - setup, 3)
            print(f"gpu_check: {args.size} stand-in ({parameters:,} parameters, random weights) on "
                  f"{name}, {'bfloat16 autocast' if bf16 else 'no autocast'}; checkpoint built and saved "
                  f"in {report['setup_s']:.1f} s", flush=True)
            print(HEADER, flush=True)
            for phase in PHASES:
                meter = Meter()
                gc.collect()
                if on_gpu:
                    torch.cuda.empty_cache()
                    torch.cuda.reset_peak_memory_stats()
                begun = time.perf_counter()
                run_phase(phase, work, size, data, device, args.threads, meter)
                peak = round(torch.cuda.max_memory_allocated() / 2**30, 2) if on_gpu else None
                result = phase_result(phase, meter, time.perf_counter() - begun, peak)
                report["phases"].append(result)
                print(line(result), flush=True)
        except BudgetSpent:
            status = 3
            done = {result["phase"] for result in report["phases"]}
            report["skipped"] = [phase for phase in PHASES if phase not in done]
            print(f"gpu_check: the budget of {args.budget_s:g} s is spent; not measured: "
                  f"{', '.join(report['skipped'])}", flush=True)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    report["total_s"] = round(time.perf_counter() - started, 3)
    report["complete"] = status == 0
    print(f"gpu_check: total {report['total_s']:.1f} s", flush=True)
    if args.output:
        Path(args.output).parent.mkdir(parents=True, exist_ok=True)
        Path(args.output).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return status


def stored_parameters(path: Path) -> int:
    """Numbers stored in a safetensors file (tied weights once), read from its header only."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return sum(math.prod(handle.get_slice(key).get_shape()) for key in handle.keys())  # noqa: SIM118


if __name__ == "__main__":
    sys.exit(main())
