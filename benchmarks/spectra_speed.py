"""Weight spectra, ours against WeightWatcher, on the same random-weight mBART-large-shaped checkpoint.

Usage: python benchmarks/spectra_speed.py [--size mbart-large-50|tiny] [--checkpoint DIR] [--workdir DIR]
                                          [--repeats 1] [--threads 1]
Needs the `bench` extra (weightwatcher). Builds the stand-in of benchmarks/gpu_check.py (mbart-large-50's
configuration, 12 + 12 layers, d = 1,024, ffn 4,096, the real 250,054-entry vocabulary, 611M parameters,
random weights) saved as `mtbridge.pretraining.random_init` saves a checkpoint, unless --checkpoint names
one. Then each side runs in its own fresh process, one thread (torch and BLAS), the order alternating per
repeat:
- ours: `mtbridge.analysis.write_spectra`'s two steps, `load_pretrained` then `spectra` + `write_parquet`;
- WeightWatcher: the same `load_pretrained`, then `WeightWatcher(model=...).analyze()` with its defaults
  (CPU: scipy's float64 SVD of every layer, then a power-law fit per layer; it skips a matrix with more
  than max_N = 50,000 rows, i.e. the shared 250,054 x 1,024 embedding, and ones under min_evals = 8).
  Its SVD calls are wrapped to keep the singular values and time them, so the comparison costs no second
  pass.
With --before, a third side: ours as it was before issue #17 (each whole matrix, wide ones too, copied to
float64 and handed to svdvals as it is). Each side reads every weight once after loading, so that the
RSS it records next holds the whole model (loading maps the file lazily). Threads are capped through the
environment (OMP/OPENBLAS/MKL_NUM_THREADS) before any library loads.
Prints per side: seconds after loading, seconds of loading, matrices, peak RSS of the process (ru_maxrss,
loading included) and the working memory: the peak after loading (the kernel's record reset once the model
is read) over the RSS with the model loaded; the ratios; which matrices WeightWatcher skipped; and the
largest relative difference |ours - theirs| / theirs between the singular values of every matrix both
computed (WeightWatcher's ESD are the squared singular values; their square roots are compared, each
WeightWatcher spectrum paired with our matrix of the same size whose values are nearest, as its layer names
are module classes). The load average comes first and last.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from _common import load_average, require

ROOT = Path(__file__).resolve().parents[1]
GIB = 2.0**30
MAX_N = 50000  # WeightWatcher's default max_N: it skips matrices with more rows (or columns) than this


def peak_rss() -> float:
    """Peak resident memory of this process so far, bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024.0


def reset_peak_rss() -> None:
    """Start the kernel's peak-RSS record (VmHWM) afresh (Linux 4.0 and later), so that the peak read at the
    end is the side's own work and not loading's (which briefly holds the file's pages and the model both:
    4.8 GiB at the peak for this 2.4 GB model, measured)."""
    Path("/proc/self/clear_refs").write_text("5")


def peak_rss_since_reset() -> float:
    """Peak resident memory since the last reset_peak_rss, bytes."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024.0


def current_rss() -> float:
    """Resident memory of this process now, bytes."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def build(size: str, workdir: Path) -> Path:
    """The gpu_check stand-in, saved as `random_init` saves it; returns the checkpoint folder."""
    from gpu_check import SIZES, stand_in_source

    from mtbridge.pretraining import random_init

    stand_in_source(SIZES[size], workdir / "source")
    random_init(spec={"architecture": "mbart"}, tokenizer_dir=str(workdir / "source"),
                output_dir=str(workdir / "random-init"), seed=1, threads=1)
    return workdir / "random-init"


def loaded(checkpoint: Path):
    """The checkpoint's model with every weight read once, so that the RSS measured next holds the whole
    model (loading maps the safetensors file; untouched weights would otherwise be counted later, in the
    spectra)."""
    import torch

    from mtbridge.models import load_pretrained

    model = load_pretrained(checkpoint)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.sum()
    return model


def loaded_and_measured(checkpoint: Path):
    """``loaded``, its RSS, and the peak-RSS record reset to that."""
    model = loaded(checkpoint)
    resident = current_rss()
    reset_peak_rss()
    return model, resident


def ours(checkpoint: Path, output: Path, before: bool = False) -> dict:
    """write_spectra's load and compute, timed apart; BEFORE: with the float64 SVD of each whole matrix
    as given, as `spectra` did before handing LAPACK tall matrices (issue #17)."""
    import torch

    from mtbridge import spectra as module
    from mtbridge.io import write_parquet

    compute = module.singular_values
    if before:
        def compute(weight, device=None):
            return torch.linalg.svdvals(weight.to(device=device, dtype=torch.float64))
    skipped = [0.0]  # seconds on the matrices WeightWatcher skips (over max_N rows)

    def timed(weight, device=None):
        started = time.perf_counter()
        values = compute(weight, device)
        skipped[0] += (time.perf_counter() - started) * (max(weight.shape) > MAX_N)
        return values

    module.singular_values = timed
    model, resident = loaded_and_measured(checkpoint)
    started = time.perf_counter()
    table = module.spectra(model, model_name="mbart", objective="random-init")
    write_parquet(table, output / ("before.parquet" if before else "ours.parquet"))
    return {"seconds": time.perf_counter() - started, "matrices": int(table["parameter"].nunique()),
            "loaded_rss": resident, "skipped_seconds": skipped[0]}


def weightwatcher(checkpoint: Path, output: Path) -> dict:
    """WeightWatcher's analyze() with its defaults, its SVDs recorded as they happen."""
    import numpy as np
    import weightwatcher as ww
    from weightwatcher import weightwatcher as module

    original, spectra, svd_seconds = module.svd_vals, [], [0.0]

    def recorded(matrix, method):
        started = time.perf_counter()
        values = original(matrix, method=method)
        svd_seconds[0] += time.perf_counter() - started
        spectra.append(np.sort(np.asarray(values, dtype=np.float64))[::-1])
        return values

    module.svd_vals = recorded
    model, resident = loaded_and_measured(checkpoint)
    started = time.perf_counter()
    details = ww.WeightWatcher(model=model).analyze()
    seconds = time.perf_counter() - started
    np.savez(output / "weightwatcher.npz", *spectra)
    analysed = {(int(n), int(m)) for n, m in zip(details["N"], details["M"], strict=True)}
    skipped = sorted({tuple(parameter.shape) for parameter in model.parameters() if parameter.dim() == 2
                      and tuple(sorted(parameter.shape, reverse=True)) not in analysed})
    return {"seconds": seconds, "matrices": len(spectra), "svd_seconds": svd_seconds[0],
            "loaded_rss": resident, "skipped_shapes": skipped,
            "alpha_median": float(np.median(details["alpha"]))}


def side(name: str, checkpoint: Path, output: Path, threads: int) -> None:
    """One side in this (fresh) process; prints its result as JSON."""
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    torch.set_num_threads(threads)
    started = time.perf_counter()
    sides = {"ours": ours, "before": partial(ours, before=True), "weightwatcher": weightwatcher}
    result = sides[name](checkpoint, output)
    result.update(total=time.perf_counter() - started, peak_rss=peak_rss(),
                  working_peak=peak_rss_since_reset())
    print(json.dumps(result))


def run_side(name: str, checkpoint: Path, output: Path, threads: int) -> dict:
    command = [sys.executable, __file__, "--side", name, "--checkpoint", str(checkpoint),
               "--workdir", str(output), "--threads", str(threads)]
    from mtbridge.jobs import THREAD_VARIABLES

    # BLAS threads are set before any library loads (threadpoolctl only reaches those already loaded)
    limits = dict.fromkeys(THREAD_VARIABLES, str(threads))
    run = subprocess.run(command, capture_output=True, text=True, check=True,
                         env={**os.environ, **limits, "TRANSFORMERS_VERBOSITY": "error"})
    return json.loads(run.stdout.strip().splitlines()[-1])


def largest_difference(output: Path) -> tuple[float, int]:
    """Largest relative difference of singular values over WeightWatcher's spectra, each paired with the
    nearest of our matrices with as many values; and how many were compared."""
    import numpy as np
    import pandas as pd

    table = pd.read_parquet(output / "ours.parquet").sort_values(["parameter", "rank"])
    by_count: dict[int, list[np.ndarray]] = {}
    for _, group in table.groupby("parameter"):
        values = group["singular_value"].to_numpy()
        by_count.setdefault(len(values), []).append(values)
    worst, theirs = 0.0, list(np.load(output / "weightwatcher.npz").values())
    for values in theirs:
        candidates = by_count[len(values)]
        worst = max(worst, min(float(np.max(np.abs(ours - values) / values)) for ours in candidates))
    return worst, len(theirs)


def working(run: dict) -> float:
    """A side's working memory: its peak RSS after loading, beyond the RSS of the loaded model."""
    return run["working_peak"] - run["loaded_rss"]


def report(results: dict[str, list[dict]], output: Path) -> None:
    best = {name: min(runs, key=lambda run: run["seconds"]) for name, runs in results.items()}
    for name, run in best.items():
        runs = ", ".join(f"{other['seconds']:.1f}" for other in results[name])
        print(f"{name:<15} {run['seconds']:>8.1f} s for {run['matrices']} matrices (all runs: {runs}); load "
              f"{run['total'] - run['seconds']:.1f} s; peak RSS {run['peak_rss'] / GIB:.2f} GiB, "
              f"{working(run) / GIB:.2f} GiB of it over the loaded model ({run['loaded_rss'] / GIB:.2f} GiB)")
    theirs, us = best["weightwatcher"], best["ours"]
    print(f"WeightWatcher: {theirs['svd_seconds']:.1f} s in SVD, the rest in its fits; skipped shapes "
          f"{theirs['skipped_shapes']}; median alpha {theirs['alpha_median']:.2f}")
    same = us["seconds"] - us["skipped_seconds"]
    print(f"ours on the matrices WeightWatcher computes too: {same:.1f} s "
          f"({theirs['svd_seconds'] / same:.2f}x as fast as its SVDs), {us['skipped_seconds']:.1f} s on "
          f"the ones it skips")
    print(f"speed ours / WeightWatcher: {theirs['seconds'] / us['seconds']:.2f}x "
          f"(SVD only: {theirs['svd_seconds'] / us['seconds']:.2f}x, ours covering {us['matrices']} "
          f"matrices, WeightWatcher {theirs['matrices']}); peak RSS over the model: "
          f"{working(theirs) / max(working(us), 1):.2f}x")
    if "before" in best:
        print(f"ours now / ours before: {best['before']['seconds'] / us['seconds']:.2f}x faster, peak RSS "
              f"over the model {working(best['before']) / GIB:.2f} GiB "
              f"before")
    worst, compared = largest_difference(output)
    print(f"largest relative difference of singular values: {worst:.1e} over {compared} matrices")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="mbart-large-50", choices=["mbart-large-50", "tiny"])
    parser.add_argument("--checkpoint", type=Path, help="an mBART checkpoint folder (default: build one)")
    parser.add_argument("--workdir", type=Path, help="default: a new temporary folder")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--before", action="store_true",
                        help="also time ours as it was before issue #17 (whole matrices as given)")
    parser.add_argument("--side", choices=["ours", "before", "weightwatcher"], help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    require(["weightwatcher"])
    sys.path.insert(0, str(ROOT))  # this checkout's mtbridge, as in gpu_check
    workdir = arguments.workdir or Path(tempfile.mkdtemp(prefix="mtbridge-spectra-"))
    if arguments.side:
        side(arguments.side, arguments.checkpoint, workdir, arguments.threads)
        return
    print(load_average(), flush=True)
    checkpoint = arguments.checkpoint or build(arguments.size, workdir)
    names = ("ours", "weightwatcher", *(["before"] if arguments.before else []))
    results: dict[str, list[dict]] = {name: [] for name in names}
    for repeat in range(arguments.repeats):
        for name in names if repeat % 2 == 0 else names[::-1]:
            results[name].append(run_side(name, checkpoint, workdir, arguments.threads))
    report(results, workdir)
    print(load_average())


if __name__ == "__main__":
    main()
