"""Time feature-space CKA against the textbook Gram-matrix formula on the same random activations.

Usage: python benchmarks/cka_speed.py [--n 10000] [--d 1024] [--layers 13] [--seed 0] [--debiased]
Prints, for the layer-by-layer diagonal and the full layer x layer matrix, the wall time of each path, the
Gram/feature time ratio, the peak memory of each path and their largest disagreement. Nothing is asserted.

Peak memory is tracemalloc's peak, reset before each path, minus what was traced when the path started:
numpy reports every array buffer to tracemalloc, so it counts the float64 copies, the d x d products and
the n x n Gram matrices, but not BLAS's internal workspace. The float32 inputs are made before tracing
starts. (resource's ru_maxrss could not separate two paths run in one process: it only ever grows.)

The Gram path recomputes both Gram matrices for every pair, so its full matrix costs layers^2 pairs of
O(n^2 d) products: at the default size expect tens of minutes on a 2-core machine and several GiB.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable, Sequence

import numpy as np

from mtbridge.similarity import cka_matrix, gram_linear_cka, linear_cka

Cka = Callable[..., float]


def activations(rng: np.random.Generator, layers: int, n: int, d: int) -> np.ndarray:
    """A random walk over layers, float32 like stored hidden states, so neighbouring layers are similar."""
    return np.cumsum(rng.standard_normal((layers, n, d), dtype=np.float32), axis=0)


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


def gram_matrix(xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], debiased: bool) -> np.ndarray:
    return np.array([[gram_linear_cka(x, y, debiased=debiased) for y in ys] for x in xs])


def report(label: str, feature: Callable[[], np.ndarray], gram: Callable[[], np.ndarray]) -> None:
    feature_values, feature_s, feature_peak = measured(feature)
    gram_values, gram_s, gram_peak = measured(gram)
    mib = 2.0**20
    print(f"{label:<22} {feature_s:>10.2f} {gram_s:>10.2f} {gram_s / feature_s:>9.1f}x "
          f"{feature_peak / mib:>10.0f} {gram_peak / mib:>10.0f} {gram_peak / max(feature_peak, 1):>9.1f}x "
          f"{np.abs(feature_values - gram_values).max():>10.1e}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10000, help="sentences")
    parser.add_argument("--d", type=int, default=1024, help="hidden size")
    parser.add_argument("--layers", type=int, default=13, help="layers per model, embeddings included")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--debiased", action="store_true", help="use the debiased HSIC estimator")
    arguments = parser.parse_args()
    rng = np.random.default_rng(arguments.seed)
    xs = activations(rng, arguments.layers, arguments.n, arguments.d)
    ys = xs + rng.standard_normal(xs.shape, dtype=np.float32)  # a second model: same walk plus its own noise
    debiased = arguments.debiased
    print(f"n={arguments.n} d={arguments.d} layers={arguments.layers} seed={arguments.seed} "
          f"debiased={debiased}; peak MiB = tracemalloc peak of extra numpy/Python memory per path")
    columns = ("feature s", "gram s", "gram/feat", "feat MiB", "gram MiB", "gram/feat", "max |diff|")
    print(f"{'path':<22}" + "".join(f" {column:>10}" for column in columns))
    tracemalloc.start()
    report(f"diagonal ({len(xs)} pairs)", lambda: diagonal(linear_cka, xs, ys, debiased),
           lambda: diagonal(gram_linear_cka, xs, ys, debiased))
    report(f"full ({len(xs)}x{len(ys)})", lambda: cka_matrix(xs, ys, debiased=debiased),
           lambda: gram_matrix(xs, ys, debiased))
    tracemalloc.stop()


if __name__ == "__main__":
    main()
