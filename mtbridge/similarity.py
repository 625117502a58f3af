"""Linear CKA (Kornblith et al. 2019) between layer representations of the same sentences.

CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) with linear kernels K = X X^T, L = Y Y^T, where row i
of X (n x d1) and of Y (n x d2) are two representations of sentence i.

Biased estimator (Gretton et al. 2005): HSIC_0 = tr(K H L H) / (n-1)^2 with H = I - 11^T/n. For
column-centred X, Y this is ||Y^T X||_F^2 / (n-1)^2 (Kornblith et al. 2019, eq. 4 and section 3).

Debiased estimator (Song et al. 2012, eq. 5; "debiased CKA" of Nguyen et al. 2021), with K~, L~ the
kernels with zeroed diagonals:
    HSIC_1 = [tr(K~L~) + 1^T K~ 1 1^T L~ 1 / ((n-1)(n-2)) - 2/(n-2) 1^T K~ L~ 1] / (n(n-3)).
HSIC_1 is unchanged by subtracting a constant row from X (it U-centres K, which removes a1^T + 1a^T + c),
so take X, Y column-centred; then X^T 1 = 0 and, with a = diag(K) (squared row norms of X), b = diag(L):
    tr(K~L~) = ||X^T Y||_F^2 - a.b,   1^T K~ 1 = ||X^T 1||^2 - tr K = -||X||_F^2,
    1^T K~ L~ 1 = (X X^T 1 - a).(Y Y^T 1 - b) = a.b,
    n(n-3) HSIC_1 = ||X^T Y||_F^2 - n/(n-2) a.b + ||X||_F^2 ||Y||_F^2 / ((n-1)(n-2)).
The constant factors 1/(n-1)^2 and 1/(n(n-3)) cancel in CKA and are dropped in feature space, which needs
only d1 x d2 products and length-n vectors, never an n x n matrix.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import zip_longest

import numpy as np
from numpy.typing import ArrayLike

# A debiased self-HSIC this small next to its terms is cancellation noise around 0 (e.g. X = I_n, whose
# centred Gram matrix is H with a constant off-diagonal): CKA is then 0/0.
_UNDEFINED_RTOL = 1e-10


@dataclass(frozen=True)
class _Centred:
    """Column-centred activations with what every HSIC term reuses, computed once per matrix."""

    x: np.ndarray  # n x d, float64, zero column means
    row_sq: np.ndarray  # diag(X X^T): squared row norms
    self_hsic: float  # unnormalised HSIC(K, K) with the chosen estimator


def _matrix(x: ArrayLike, name: str) -> np.ndarray:
    """A float64 copy of `x` (centred in place later), refused unless finite, 2-D and non-constant."""
    x = np.array(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be 2-D (sentences x features), got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf")
    if x.shape[0] < 2 or (x == x[0]).all():
        raise ValueError(f"{name} has zero variance (all {x.shape[0]} rows equal), so CKA is undefined")
    return x


def _validated(named: Sequence[tuple[str, ArrayLike]], debiased: bool) -> list[np.ndarray]:
    """float64 matrices over the same sentences; HSIC_1 divides by n(n-3)(n-2), hence n >= 4."""
    matrices = [_matrix(x, name) for name, x in named]
    rows = sorted({len(m) for m in matrices})
    if len(rows) > 1:
        raise ValueError(f"inputs have different numbers of sentences (rows): {rows}")
    if debiased and rows and rows[0] < 4:
        raise ValueError(f"debiased CKA needs at least 4 sentences, got {rows[0]}")
    return matrices


def _hsic_terms(x: np.ndarray, y: np.ndarray, a: np.ndarray, b: np.ndarray,
                debiased: bool) -> tuple[float, ...]:
    """Summands of (n-1)^2 HSIC_0 or n(n-3) HSIC_1 for centred X, Y with a, b = diag(K), diag(L)."""
    xty = x.T @ y
    cross = float(np.vdot(xty, xty))  # ||X^T Y||_F^2 = tr(K L)
    if not debiased:
        return (cross,)
    n = len(x)
    return cross, -n / (n - 2) * float(a @ b), float(a.sum() * b.sum()) / ((n - 1) * (n - 2))


def _centre(x: np.ndarray, name: str, debiased: bool) -> _Centred:
    """Centre `x` in place and compute its self-HSIC, refusing a self-HSIC of 0 (CKA = 0/0)."""
    x -= x.mean(axis=0)
    row_sq = np.einsum("ij,ij->i", x, x)
    terms = _hsic_terms(x, x, row_sq, row_sq, debiased)
    self_hsic = sum(terms)
    if self_hsic <= _UNDEFINED_RTOL * sum(abs(term) for term in terms):
        raise ValueError(f"HSIC({name}, {name}) is not positive (debiased={debiased}), so CKA is undefined")
    return _Centred(x, row_sq, self_hsic)


def _prepared(named: Sequence[tuple[str, ArrayLike]], debiased: bool) -> list[_Centred]:
    """Validate all inputs together (same n), then centre each one once."""
    matrices = _validated(named, debiased)
    return [_centre(m, name, debiased) for (name, _), m in zip(named, matrices, strict=True)]


def _cka(p: _Centred, q: _Centred, debiased: bool) -> float:
    cross = sum(_hsic_terms(p.x, q.x, p.row_sq, q.row_sq, debiased))
    return float(cross / np.sqrt(p.self_hsic * q.self_hsic))


def linear_cka(x: ArrayLike, y: ArrayLike, *, debiased: bool = False) -> float:
    """Linear CKA of X (n x d1) and Y (n x d2) in feature space: ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)
    on column-centred inputs, or with HSIC_1 (see module docstring) when `debiased`.

    Costs O(n d1 d2) time and O(d1 d2) memory beyond float64 copies of the inputs, so it scales to many
    sentences; the debiased form removes the upward bias of biased CKA when d is not small next to n.
    """
    p, q = _prepared([("x", x), ("y", y)], debiased)
    return _cka(p, q, debiased)


def cka_matrix(xs: Sequence[ArrayLike], ys: Sequence[ArrayLike], *, debiased: bool = False) -> np.ndarray:
    """Layer x layer CKA between two models: entry (i, j) is linear_cka(xs[i], ys[j]).

    Every layer is validated, centred and self-normed once (not once per pair), which holds all layers as
    float64 copies at the same time.
    """
    named = [(f"xs[{i}]", x) for i, x in enumerate(xs)] + [(f"ys[{j}]", y) for j, y in enumerate(ys)]
    prepared = _prepared(named, debiased)
    left, right = prepared[: len(xs)], prepared[len(xs):]
    values = (_cka(p, q, debiased) for p in left for q in right)
    return np.fromiter(values, dtype=np.float64, count=len(left) * len(right)).reshape(len(left), len(right))


def _double_centred(k: np.ndarray) -> np.ndarray:
    """H K H for symmetric K, from row and column means instead of two n x n x n products."""
    means = k.mean(axis=0)
    return k - means - means[:, None] + means.mean()


def _hsic_0(kc: np.ndarray, lc: np.ndarray) -> float:
    """HSIC_0 = tr(K H L H) / (n-1)^2 = <HKH, HLH>_F / (n-1)^2, as H is symmetric and idempotent."""
    return float(np.vdot(kc, lc)) / (len(kc) - 1) ** 2


def _zero_diagonal(k: np.ndarray) -> np.ndarray:
    np.fill_diagonal(k, 0.0)
    return k


def _hsic_1(kt: np.ndarray, lt: np.ndarray) -> float:
    """HSIC_1 of Song et al. (2012, eq. 5) from the zero-diagonal kernels K~, L~."""
    n = len(kt)
    k1, l1 = kt.sum(axis=1), lt.sum(axis=1)
    corrected = np.vdot(kt, lt) + k1.sum() * l1.sum() / ((n - 1) * (n - 2)) - 2 / (n - 2) * (k1 @ l1)
    return float(corrected) / (n * (n - 3))


def gram_linear_cka(x: ArrayLike, y: ArrayLike, *, debiased: bool = False) -> float:
    """Textbook linear CKA from n x n Gram matrices of the raw inputs (Kornblith et al. 2019, eqs. 1-3).

    O(n^2) memory and O(n^2 d) time: kept as the independent reference that `linear_cka` is tested and
    benchmarked against. It refuses a self-HSIC <= 0 but, unlike `linear_cka`, without a rounding tolerance.
    """
    x, y = _validated([("x", x), ("y", y)], debiased)
    prepare: Callable[[np.ndarray], np.ndarray] = _zero_diagonal if debiased else _double_centred
    hsic = _hsic_1 if debiased else _hsic_0
    gram_x, gram_y = prepare(x @ x.T), prepare(y @ y.T)
    self_x, self_y = hsic(gram_x, gram_x), hsic(gram_y, gram_y)
    if min(self_x, self_y) <= 0:
        raise ValueError(f"a self-HSIC is not positive (debiased={debiased}), so CKA is undefined")
    return hsic(gram_x, gram_y) / float(np.sqrt(self_x * self_y))


def aligned(ids_x: Sequence[str], ids_y: Sequence[str]) -> None:
    """Refuse activations of different sentences: CKA pairs row i of X with row i of Y, so shuffled or
    truncated id lists give a plausible-looking but meaningless number. None marks a missing id."""
    for index, (id_x, id_y) in enumerate(zip_longest(ids_x, ids_y)):
        if id_x != id_y:
            raise ValueError(f"sentence ids differ at position {index}: {id_x!r} vs {id_y!r} "
                             f"({len(ids_x)} vs {len(ids_y)} ids)")
