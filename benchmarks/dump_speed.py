"""Time the activation dump against a plain loop on the same model and evaluation sentences.

Usage: python benchmarks/dump_speed.py --workdir DIR [--model mbart] [--objective source]
       [--languages en mid ...] [--batch-size 64] [--precision float64] [--threads 1] [--repeats 5]

DIR is a finished study run (e.g. the workdir of benchmarks/study_time.py): the checkpoint, tokenizer and
evaluation sets (every study language by default, one dump each) are read from it. The plain loop takes
fixed batches in file order, pads each to its longest sentence and masks the padding (torch.no_grad); the
dump (mtbridge.representations) batches sentences of one length, shortest first, with no padding
(torch.inference_mode). Both pool every layer the same way in the same precision. Prints sentences/s of
each (best of --repeats), their ratio, and the largest difference between the two outputs. Nothing is
asserted.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch

from mtbridge import paths
from mtbridge.config import load_config
from mtbridge.io import read_parquet
from mtbridge.models import load_encoder, masked_mean
from mtbridge.representations import PRECISIONS, Sentence, frame_sentences, layer_names, pooled_layers
from mtbridge.tasks import CORPUS_SCHEMA
from mtbridge.tokenizer import framing, load_tokenizer
from mtbridge.training import pad

Layers = dict[str, torch.Tensor]


@torch.no_grad()
def plain_loop(encoder: torch.nn.Module, sentences: Sequence[Sentence], batch_size: int,
               pad_id: int) -> Layers:
    """Fixed batches in file order, padded to the batch's longest sentence, mean-pooled over text pieces."""
    pooled: list[list[torch.Tensor]] = []
    for start in range(0, len(sentences), batch_size):
        batch = sentences[start:start + batch_size]
        input_ids = pad([sentence.ids for sentence in batch], pad_id)
        content = pad([[int(flag) for flag in sentence.content] for sentence in batch], 0).bool()
        states = encoder(input_ids=input_ids, attention_mask=(input_ids != pad_id).long(),
                         output_hidden_states=True).hidden_states
        pooled.append([masked_mean(layer, content) for layer in states])
    names = layer_names(len(pooled[0]))
    return {name: torch.cat([batch[index] for batch in pooled]) for index, name in enumerate(names)}


def best_rate(compute: Callable[[], list[Layers]], sentences: int, repeats: int
              ) -> tuple[float, list[Layers]]:
    """Sentences per second of the fastest of ``repeats`` runs, and that run's output."""
    best, result = float("inf"), []
    for _ in range(repeats):
        started = time.perf_counter()
        result = compute()
        best = min(best, time.perf_counter() - started)
    return sentences / best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, required=True, help="a finished study run")
    parser.add_argument("--configfile", type=Path, default=Path(__file__).resolve().parent.parent
                        / "config.yaml")
    parser.add_argument("--model", default="mbart")
    parser.add_argument("--objective", default="source")
    parser.add_argument("--languages", nargs="+", help="default: every study language")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", choices=list(PRECISIONS), default="float64")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    config = load_config(arguments.configfile)
    spec = config["models"][arguments.model]
    workdir = arguments.workdir
    tokenizer = load_tokenizer(workdir / paths.tokenizer())
    frame = framing(tokenizer, spec["architecture"], config["study"]["languages"])
    languages = arguments.languages or config["study"]["languages"]
    dtype = PRECISIONS[arguments.precision]
    checkpoint = workdir / paths.checkpoint(arguments.model, arguments.objective, 1)
    encoder = load_encoder(checkpoint).to(dtype).eval()
    dumps = [frame_sentences(tokenizer, frame,
                             read_parquet(workdir / paths.evaluation_set(language), CORPUS_SCHEMA)["text"]
                             .to_pylist(), language, spec["max_length"]) for language in languages]
    lengths = [len(sentence.ids) for sentences in dumps for sentence in sentences]
    print(f"{arguments.model}/{arguments.objective} on {len(lengths)} sentences of {len(languages)} "
          f"language(s) (pieces {min(lengths)}-{max(lengths)}, mean {sum(lengths) / len(lengths):.1f}), "
          f"batch {arguments.batch_size}, {arguments.precision}, {arguments.threads} thread(s), "
          f"best of {arguments.repeats}")
    plain_rate, plain = best_rate(
        lambda: [plain_loop(encoder, sentences, arguments.batch_size, frame.pad) for sentences in dumps],
        len(lengths), arguments.repeats)
    dump_rate, dumped = best_rate(
        lambda: [pooled_layers(encoder, sentences, "mean", arguments.batch_size, dtype)
                 for sentences in dumps],
        len(lengths), arguments.repeats)
    difference = max(float((a[name] - b[name]).abs().max())
                     for a, b in zip(plain, dumped, strict=True) for name in a)
    print(f"plain loop (file order, padded): {plain_rate:8.1f} sentences/s")
    print(f"dump (length buckets, no pad):   {dump_rate:8.1f} sentences/s")
    print(f"ratio dump/plain: {dump_rate / plain_rate:.2f}x; max |difference| {difference:.1e}")


if __name__ == "__main__":
    main()
