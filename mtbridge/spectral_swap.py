"""The spectral ablation: are the larger singular values after continued pretraining the cause of worse
transfer, or a side effect?

Every analysed weight matrix (``weights.weight_matrices``: each 2-D parameter once) of a "vectors" model
``a`` is rebuilt with the singular values of the same matrix of a "values" model ``b``,

    W_a = U_a Σ_a V_aᵀ  (thin SVD),   W' = U_a · diag(σ_b) · V_aᵀ,

so W' keeps every singular vector of ``a`` and has exactly ``b``'s spectrum. With ``a`` a continued
checkpoint and ``b`` its source, W' is the continued model with its singular values restored
(``<objective>+source-spectrum``); the reverse, source vectors with continued values, is
``<objective>+source-vectors``. Each derived checkpoint is then fine-tuned, evaluated and dumped like any
other: if transfer moves back towards the source when only the values are restored, the values matter.

The SVD is computed in float64 and the result cast back to the stored dtype. Where ``a`` has repeated
singular values the basis of that subspace is arbitrary, and so is which of ``b``'s values each direction
gets; trained weights do not have them (random ones neither, almost surely).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from mtbridge.aliases import PathLike
from mtbridge.io import atomic_directory, read_json, write_json
from mtbridge.models import TRAINING_FILE, load_pretrained
from mtbridge.objectives import spectral_swap_objective
from mtbridge.weights import weight_matrices

# config.json keys that say nothing about the architecture
_BOOKKEEPING = ("_name_or_path", "transformers_version", "dtype", "torch_dtype", "architectures")


def swap_spectrum(vectors: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """U_a · diag(σ_b) · V_aᵀ in float64, with U_a, V_a the singular vectors of ``vectors`` and σ_b the
    singular values of ``values`` (both sorted largest first, as ``torch.linalg.svd`` returns them)."""
    if vectors.shape != values.shape or vectors.dim() != 2:
        raise ValueError(f"a spectral swap needs two matrices of one shape, got {tuple(vectors.shape)} "
                         f"and {tuple(values.shape)}")
    u, _, vh = torch.linalg.svd(vectors.to(torch.float64), full_matrices=False)
    sigma = torch.linalg.svdvals(values.to(torch.float64))
    return (u * sigma) @ vh


def architecture_of(checkpoint_dir: PathLike) -> dict:
    """A checkpoint's config.json less its bookkeeping keys: what must match for a swap."""
    config = read_json(Path(checkpoint_dir) / "config.json")
    return {key: value for key, value in config.items() if key not in _BOOKKEEPING}


def check_same_architecture(vectors_dir: PathLike, values_dir: PathLike) -> None:
    """Refuse, in one line, checkpoints whose configs differ in anything but bookkeeping."""
    a, b = architecture_of(vectors_dir), architecture_of(values_dir)
    differ = sorted((key for key in a.keys() | b.keys() if a.get(key) != b.get(key)),
                    key=lambda key: (key != "model_type", key))  # the model type first, if it differs
    if differ:
        shown = ", ".join(f"{key}: {a.get(key)!r} vs {b.get(key)!r}" for key in differ[:4])
        raise ValueError(f"{vectors_dir} and {values_dir} are not the same architecture ({shown}"
                         f"{', …' if len(differ) > 4 else ''})")


@torch.no_grad()
def swap_model(vectors: torch.nn.Module, values: torch.nn.Module,
               device: torch.device | None = None) -> list[str]:
    """Rebuild every analysed matrix of ``vectors`` in place with ``values``' singular values; the other
    tensors (biases, layer norms) stay ``vectors``'. Returns the names of the matrices swapped."""
    others = dict(weight_matrices(values))
    swapped = []
    for name, weight in weight_matrices(vectors):
        other = others.get(name)
        if other is None or other.shape != weight.shape:
            found = "missing" if other is None else f"shape {tuple(other.shape)}"
            raise ValueError(f"matrix {name} {tuple(weight.shape)}: in the values model {found}")
        rebuilt = swap_spectrum(weight.to(device), other.to(device))
        weight.copy_(rebuilt.to(device=weight.device, dtype=weight.dtype))
        swapped.append(name)
    return swapped


def write_spectral_swap(*, vectors_dir: PathLike, values_dir: PathLike, output_dir: PathLike,
                        objective: str, threads: int = 1) -> None:
    """A derived checkpoint: ``vectors_dir``'s model with every analysed matrix given ``values_dir``'s
    singular values; its config, tokenizer files and every other tensor are ``vectors_dir``'s.

    ``objective`` names it (e.g. ``mt-m2o+source-spectrum``, see ``objectives.spectral_swap_objective``);
    the training record says which checkpoints and objectives it came from. The thread count is fixed
    because the SVD may differ in the last bit between thread counts (as ``svdvals`` does, measured).
    """
    torch.set_num_threads(threads)
    check_same_architecture(vectors_dir, values_dir)
    model = load_pretrained(vectors_dir)
    swapped = swap_model(model, load_pretrained(values_dir))
    sources = {role: read_json(Path(folder) / TRAINING_FILE)
               for role, folder in (("vectors", vectors_dir), ("values", values_dir))}
    record = {"objective": objective, "seed": sources["vectors"].get("seed"), "steps": 0,
              "matrices": len(swapped),
              **{f"{role}_objective": source.get("objective") for role, source in sources.items()},
              **{f"{role}_checkpoint": str(folder) for role, folder in (("vectors", vectors_dir),
                                                                        ("values", values_dir))}}
    with atomic_directory(output_dir) as tmp:
        model.save_pretrained(tmp)
        for path in sorted(Path(vectors_dir).iterdir()):  # tokenizer files, as they were
            if path.is_file() and path.name != TRAINING_FILE and not (tmp / path.name).exists():
                shutil.copyfile(path, tmp / path.name)
        write_json(record, tmp / TRAINING_FILE)


def write_spectral_swaps(*, continued_dir: PathLike, source_dir: PathLike, continued_objective: str,
                         spectrum_dir: PathLike, vectors_dir: PathLike, threads: int = 1) -> None:
    """Both derived checkpoints of one continued checkpoint: its vectors with the source's values
    (``spectrum_dir``, ``<objective>+source-spectrum``) and the source's vectors with its values
    (``vectors_dir``, ``<objective>+source-vectors``)."""
    write_spectral_swap(vectors_dir=continued_dir, values_dir=source_dir, output_dir=spectrum_dir,
                        objective=spectral_swap_objective(continued_objective, "source-spectrum"),
                        threads=threads)
    write_spectral_swap(vectors_dir=source_dir, values_dir=continued_dir, output_dir=vectors_dir,
                        objective=spectral_swap_objective(continued_objective, "source-vectors"),
                        threads=threads)
