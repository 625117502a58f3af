"""Time feature-space CKA against the textbook Gram-matrix formula on the same random float16 activations.

Usage: python benchmarks/cka_speed.py [--n 10000] [--d 1024] [--layers 13] [--seed 0] [--debiased]
                                      [--threads 1] [--float32] [--full-gram] [--skip-full]
Prints the load average, then, for the layer-by-layer diagonal (layer i of model A against layer i of model
B), the wall time of each path, the Gram/feature time ratio, the peak memory of each path and their largest
disagreement. The two paths alternate pair by pair (feature first on even pairs, Gram first on odd ones)
with BLAS capped at --threads (default 1) for both. With --float32, the feature path once more with its
products formed in float32 (blocks centred in float64, then rounded; each block's product added to a
float64 sum): its time and its largest difference from the float64 feature path, the measurement behind
keeping float64. Then the full layer x layer matrix with the feature path (`cka_matrix`; --skip-full leaves
it out); its max |diff| is that of its diagonal against the Gram diagonal above. The Gram path recomputes
both Gram matrices for every pair, so its full matrix costs layers^2 pairs of O(n^2 d) products: it only
runs with --full-gram. Last, the feature diagonal again on the first n/4 and n/2 sentences, to show by
measurement that its peak memory does not grow with n. Nothing is asserted.

What bounds the ratio: per pair the Gram path does two n x n syrks (2 n^2 d flops) plus O(n^2) passes over
memory, the feature path two d x d syrks and one d x d product (4 n d^2), so a lone pair (the diagonal)
gains n / (2d) in flops, ~4.9x at n = 10,000 and d = 1,024; the rest of the ratio is how much closer to the
core's peak the feature path's 2048-row blocks run than the Gram path's n x n products and passes.

Peak memory is tracemalloc's peak, reset before each path, minus what was traced when the path started:
numpy reports every array buffer to tracemalloc, so it counts float64 blocks and copies, the d x d products
and the n x n Gram matrices, but not BLAS's internal workspace. The float16 inputs (as activation dumps
are stored) are made before tracing starts and are not counted; the n/4 and n/2 runs use views of them.
(resource's ru_maxrss could not separate paths run in one process: it only ever grows.)
"""

from __future__ import annotations

import argparse
import contextlib
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from functools import partial

import numpy as np
from _common import alternating, load_average, one_thread

from mtbridge import similarity
from mtbridge.similarity import cka_matrix, gram_linear_cka, linear_cka

Cka = Callable[..., float]
MIB = 2.0**20


def activations(rng: np.random.Generator, layers: int, n: int, d: int) -> tuple[np.ndarray, np.ndarray]:
    """Two models' float16 hidden states: a random walk over layers, so neighbouring layers are similar,
    and the second model is the same walk plus its own noise. Built a layer at a time in float32."""
    xs, ys = np.empty((layers, n, d), dtype=np.float16), np.empty((layers, n, d), dtype=np.float16)
    walk = np.zeros((n, d), dtype=np.float32)
    for layer in range(layers):
        walk += rng.standard_normal((n, d), dtype=np.float32)
        xs[layer] = walk
        ys[layer] = walk + rng.standard_normal((n, d), dtype=np.float32)
    return xs, ys


def measured(compute: Callable[[], np.ndarray]) -> tuple[np.ndarray, float, int]:
    """The result, wall seconds and peak extra traced bytes of `compute()`."""
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    started = time.perf_counter()
    result = compute()
    seconds = time.perf_counter() - started
    return result, seconds, tracemalloc.get_traced_memory()[1] - before


def diagonal(cka: Cka, xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], debiased: bool) -> np.ndarray:
    return np.array([cka(x, y, debiased=debiased) for x, y in zip(xs, ys, strict=True)])


Measured = tuple[np.ndarray, float, int]


def interleaved(paths: dict[str, Cka], xs: Sequence[np.ndarray], ys: Sequence[np.ndarray],
                debiased: bool) -> dict[str, Measured]:
    """Each path's diagonal (values, summed seconds, largest peak), the paths alternating pair by pair."""
    values: dict[str, list[float]] = {name: [] for name in paths}
    seconds, peaks = dict.fromkeys(paths, 0.0), dict.fromkeys(paths, 0)
    for index, (x, y) in enumerate(zip(xs, ys, strict=True)):
        sides = {name: partial(measured, partial(cka, x, y, debiased=debiased))
                 for name, cka in paths.items()}
        for name, (_, (value, took, peak)) in alternating(sides, 1, offset=index).items():
            values[name].append(value)
            seconds[name] += took
            peaks[name] = max(peaks[name], peak)
    return {name: (np.array(values[name]), seconds[name], peaks[name]) for name in paths}


@contextlib.contextmanager
def float32_products() -> Iterator[None]:
    """The feature path with each centred float64 block rounded to float32 before its products (sgemm and
    ssyrk), the squared row norms still taken in float64; sums across blocks stay float64."""
    blocks, row_sq = similarity._blocks, similarity._row_sq

    def rounded(x: np.ndarray, shift: np.ndarray | None = None) -> Iterator[np.ndarray]:
        for block in blocks(x, shift):
            yield block.astype(np.float32)

    similarity._blocks = rounded
    similarity._row_sq = lambda block: row_sq(block.astype(np.float64))
    try:
        yield
    finally:
        similarity._blocks, similarity._row_sq = blocks, row_sq


def float32_cka(x: np.ndarray, y: np.ndarray, *, debiased: bool) -> float:
    with float32_products():
        return linear_cka(x, y, debiased=debiased)


def gram_matrix(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], debiased: bool) -> np.ndarray:
    return np.array([[gram_linear_cka(x, y, debiased=debiased) for y in ys] for x in xs])


def row(label: str, feature: tuple[np.ndarray, float, int], gram: tuple[np.ndarray, float, int] | None,
        diff: float) -> None:
    _, feature_s, feature_peak = feature
    cells = [f"{feature_s:>10.2f}", "-", "-", f"{feature_peak / MIB:>10.0f}", "-", "-"]
    if gram is not None:
        _, gram_s, gram_peak = gram
        cells[1:3] = [f"{gram_s:>10.2f}", f"{gram_s / feature_s:>9.1f}x"]
        cells[4:6] = [f"{gram_peak / MIB:>10.0f}", f"{gram_peak / max(feature_peak, 1):>9.1f}x"]
    print(f"{label:<22}" + "".join(f" {cell:>10}" for cell in cells) + f" {diff:>10.1e}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000, help="sentences")
    parser.add_argument("--d", type=int, default=1024, help="hidden size")
    parser.add_argument("--layers", type=int, default=13, help="layers per model, embeddings included")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--debiased", action="store_true", help="use the debiased HSIC estimator")
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads, both paths")
    parser.add_argument("--float32", action="store_true",
                        help="also time the feature path with float32 products and report its error")
    parser.add_argument("--full-gram", action="store_true",
                        help="also run the Gram path on the full layer x layer matrix (very slow)")
    parser.add_argument("--skip-full", action="store_true", help="leave out the full layer x layer matrix")
    arguments = parser.parse_args()
    one_thread(arguments.threads)
    xs, ys = activations(np.random.default_rng(arguments.seed), arguments.layers, arguments.n, arguments.d)
    debiased, layers = arguments.debiased, arguments.layers
    print(f"n={arguments.n} d={arguments.d} layers={layers} seed={arguments.seed} debiased={debiased} "
          f"threads={arguments.threads} inputs float16; {load_average()}")
    print("peak MiB = tracemalloc peak of extra numpy/Python memory per path")
    columns = ("feature s", "gram s", "gram/feat", "feat MiB", "gram MiB", "gram/feat", "max |diff|")
    print(f"{'path':<22}" + "".join(f" {column:>10}" for column in columns))
    tracemalloc.start()
    paths = {"feature": linear_cka, "gram": gram_linear_cka}
    if arguments.float32:
        paths["float32"] = float32_cka
    timed = interleaved(paths, xs, ys, debiased)
    feature, gram = timed["feature"], timed["gram"]
    row(f"diagonal ({layers} pairs)", feature, gram, float(np.abs(feature[0] - gram[0]).max()))
    if arguments.float32:
        single = timed["float32"]
        print(f"float32 products: {single[1]:.2f} s ({feature[1] / single[1]:.2f}x as fast as float64), "
              f"max |diff| from it {np.abs(single[0] - feature[0]).max():.1e}", flush=True)
    if not arguments.skip_full:
        full = measured(lambda: cka_matrix(xs, ys, debiased=debiased))
        full_gram = measured(lambda: gram_matrix(xs, ys, debiased)) if arguments.full_gram else None
        reference = gram[0] if full_gram is None else full_gram[0]
        compared = full[0].diagonal() if full_gram is None else full[0]
        row(f"full ({layers}x{layers})", full, full_gram, float(np.abs(compared - reference).max()))
    print("feature diagonal peak by n (same inputs, first n rows):")
    for rows in (arguments.n // 4, arguments.n // 2):
        # views of the first rows: nothing is copied
        _, seconds, peak = measured(partial(diagonal, linear_cka, xs[:, :rows], ys[:, :rows], debiased))
        print(f"  n={rows:<8} {seconds:>8.2f} s {peak / MIB:>8.1f} MiB", flush=True)
    print(f"  n={arguments.n:<8} {feature[1]:>8.2f} s {feature[2] / MIB:>8.1f} MiB (diagonal row above)")
    print(load_average())
    tracemalloc.stop()


if __name__ == "__main__":
    main()
