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
only d1 x d2 products and sums over rows, never an n x n matrix.

Every one of those quantities is a sum over sentences, so the feature path streams over blocks of
_CHUNK_ROWS rows: a first pass per matrix sums its columns (mean vector mu), then with X_k the centred
float64 block k, X^T Y = sum_k X_k^T Y_k, a.b = sum_k a_k.b_k and ||X||_F^2 = tr(X^T X) = sum_k ||X_k||_F^2.
Only one block per matrix is ever converted to float64, so the working memory is O(d^2 + chunk d) with
d = max(d1, d2), whatever n is, and the inputs keep their own dtype (float16 dumps are not copied whole).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations, zip_longest

import numpy as np
from numpy.typing import ArrayLike

# A debiased self-HSIC this small next to its terms is cancellation noise around 0 (e.g. X = I_n, whose
# centred Gram matrix is H with a constant off-diagonal): CKA is then 0/0.
_UNDEFINED_RTOL = 1e-10
# Rows converted to float64 at a time. Per-block products of 2048 rows ran ~15% faster than of 1024 at
# d = 1024 on 2 cores (syrk and the d x d accumulation weigh more on short blocks); a block is then 16 MiB,
# two d x d products, whatever n is.
_CHUNK_ROWS = 2048


@dataclass(frozen=True)
class _Prepared:
    """An input with what every HSIC term reuses, computed once per matrix; the rows stay as given."""

    rows: np.ndarray  # n x d in the caller's dtype, never copied whole
    mean: np.ndarray  # float64 column means, subtracted block by block
    sq_norm: float  # ||X||_F^2 of the centred X = sum of a = tr K
    self_hsic: float  # unnormalised HSIC(K, K) with the chosen estimator


def _checked(named: Sequence[tuple[str, ArrayLike]], debiased: bool) -> list[np.ndarray]:
    """2-D arrays over the same sentences, without copying numpy inputs; HSIC_1 divides by n(n-3)(n-2),
    hence n >= 4. Only shapes are read here, so a mismatch is refused before any pass over the data."""
    arrays = [np.asarray(x) for _, x in named]
    for (name, _), x in zip(named, arrays, strict=True):
        if x.ndim != 2:
            raise ValueError(f"{name} must be 2-D (sentences x features), got shape {x.shape}")
    rows = sorted({len(x) for x in arrays})
    if len(rows) > 1:
        raise ValueError(f"inputs have different numbers of sentences (rows): {rows}")
    if debiased and rows and rows[0] < 4:
        raise ValueError(f"debiased CKA needs at least 4 sentences, got {rows[0]}")
    return arrays


def _blocks(x: np.ndarray, shift: np.ndarray | None = None) -> Iterator[np.ndarray]:
    """x - shift as float64 blocks of _CHUNK_ROWS rows, converted into one reused buffer: the caller must
    be done with a block before asking for the next."""
    buffer = np.empty((min(_CHUNK_ROWS, len(x)), x.shape[1]))
    for start in range(0, len(x), _CHUNK_ROWS):
        block = buffer[: min(_CHUNK_ROWS, len(x) - start)]
        if shift is None:
            block[...] = x[start : start + _CHUNK_ROWS]
        else:
            np.subtract(x[start : start + _CHUNK_ROWS], shift, out=block)
        yield block


def _column_means(x: np.ndarray, name: str) -> np.ndarray:
    """float64 column means of `x`, refused unless finite and non-constant; checked block by block."""
    total, first, varies = np.zeros(x.shape[1]), None, False
    for block in _blocks(x):
        if not np.isfinite(block).all():
            raise ValueError(f"{name} contains NaN or inf")
        first = block[0].copy() if first is None else first
        varies = varies or not (block == first).all()
        total += block.sum(axis=0)
    if not varies:  # also n < 2
        raise ValueError(f"{name} has zero variance (all {len(x)} rows equal), so CKA is undefined")
    return total / len(x)


def _row_sq(block: np.ndarray) -> np.ndarray:
    """Squared row norms of a centred block: its slice of a = diag(K)."""
    return np.einsum("ij,ij->i", block, block)


def _hsic_terms(product: np.ndarray, ab: float, sq_x: float, sq_y: float, n: int,
                debiased: bool) -> tuple[float, ...]:
    """Summands of (n-1)^2 HSIC_0 or n(n-3) HSIC_1 from X^T Y, a.b, ||X||_F^2 and ||Y||_F^2 (centred)."""
    cross = float(np.vdot(product, product))  # ||X^T Y||_F^2 = tr(K L)
    if not debiased:
        return (cross,)
    return cross, -n / (n - 2) * ab, sq_x * sq_y / ((n - 1) * (n - 2))


def _streamed(inputs: Sequence[tuple[np.ndarray, np.ndarray]], pairs: Sequence[tuple[int, int]],
              debiased: bool) -> list[tuple[np.ndarray, float]]:
    """(X_i^T X_j, a_i.a_j) of the centred inputs (rows, mean) for each (i, j) in `pairs`, summed over row
    blocks in one pass that converts each block once. X_i^T X_i of a block is a syrk (numpy sees both
    operands share one buffer): half the work of a general product."""
    products = [np.zeros((inputs[i][0].shape[1], inputs[j][0].shape[1])) for i, j in pairs]
    dots = [0.0] * len(pairs)
    for blocks in zip(*(_blocks(x, mean) for x, mean in inputs), strict=True):
        row_sq = [_row_sq(block) for block in blocks] if debiased else []
        for k, (i, j) in enumerate(pairs):
            products[k] += blocks[i].T @ blocks[j]
            if debiased:
                dots[k] += float(row_sq[i] @ row_sq[j])
    return list(zip(products, dots, strict=True))


def _with_self_hsic(x: np.ndarray, mean: np.ndarray, gram: np.ndarray, aa: float, name: str,
                    debiased: bool) -> _Prepared:
    """`x` with its self-HSIC from X^T X and a.a, refusing a self-HSIC of 0 (CKA = 0/0)."""
    sq_norm = float(np.trace(gram))
    terms = _hsic_terms(gram, aa, sq_norm, sq_norm, len(x), debiased)
    self_hsic = sum(terms)
    if self_hsic <= _UNDEFINED_RTOL * sum(abs(term) for term in terms):
        raise ValueError(f"HSIC({name}, {name}) is not positive (debiased={debiased}), so CKA is undefined")
    return _Prepared(x, mean, sq_norm, self_hsic)


def _with_means(named: Sequence[tuple[str, ArrayLike]],
                debiased: bool) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, rows, column means) of each input, all checked (same n, finite, non-constant) before any
    product is formed, so a bad last layer is refused after one cheap pass per matrix."""
    arrays = _checked(named, debiased)
    return [(name, x, _column_means(x, name)) for (name, _), x in zip(named, arrays, strict=True)]


def _prepared(named: Sequence[tuple[str, ArrayLike]], debiased: bool) -> list[_Prepared]:
    """Each input with its self-HSIC, computed once so that every pair it is in reuses it."""
    prepared = []
    for name, x, mean in _with_means(named, debiased):
        [(gram, aa)] = _streamed([(x, mean)], [(0, 0)], debiased)
        prepared.append(_with_self_hsic(x, mean, gram, aa, name, debiased))
    return prepared


def _ratio(product: np.ndarray, ab: float, p: _Prepared, q: _Prepared, debiased: bool) -> float:
    """CKA from the cross terms X^T Y, a.b and the two prepared self-HSICs."""
    cross = sum(_hsic_terms(product, ab, p.sq_norm, q.sq_norm, len(p.rows), debiased))
    return float(cross / np.sqrt(p.self_hsic * q.self_hsic))


def _cka(p: _Prepared, q: _Prepared, debiased: bool) -> float:
    """One streamed pass over both inputs accumulating X^T Y (and a.b)."""
    [(product, ab)] = _streamed([(p.rows, p.mean), (q.rows, q.mean)], [(0, 1)], debiased)
    return _ratio(product, ab, p, q, debiased)


def linear_cka(x: ArrayLike, y: ArrayLike, *, debiased: bool = False) -> float:
    """Linear CKA of X (n x d1) and Y (n x d2) in feature space: ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)
    on column-centred inputs, or with HSIC_1 (see module docstring) when `debiased`.

    Costs O(n (d1 + d2)^2) time and O((d1 + d2)^2 + chunk (d1 + d2)) memory beyond the inputs themselves,
    whatever n is, so it scales to many sentences; the debiased form removes the upward bias of biased CKA
    when d is not small next to n. Both self terms and the cross term share one pass, so each block is
    converted once (a mean pass per input comes first).
    """
    (_, x, mean_x), (_, y, mean_y) = _with_means([("x", x), ("y", y)], debiased)
    (gram_x, aa), (gram_y, bb), (product, ab) = _streamed([(x, mean_x), (y, mean_y)],
                                                          [(0, 0), (1, 1), (0, 1)], debiased)
    p = _with_self_hsic(x, mean_x, gram_x, aa, "x", debiased)
    q = _with_self_hsic(y, mean_y, gram_y, bb, "y", debiased)
    return _ratio(product, ab, p, q, debiased)


def cka_matrix(xs: Sequence[ArrayLike], ys: Sequence[ArrayLike], *, debiased: bool = False) -> np.ndarray:
    """Layer x layer CKA between two models: entry (i, j) is linear_cka(xs[i], ys[j]).

    Every layer is checked, averaged and self-normed once (not once per pair), which leaves one streamed
    X^T Y per pair; only means and scalars are kept per layer, never float64 copies of the layers.
    """
    named = [(f"xs[{i}]", x) for i, x in enumerate(xs)] + [(f"ys[{j}]", y) for j, y in enumerate(ys)]
    prepared = _prepared(named, debiased)
    left, right = prepared[: len(xs)], prepared[len(xs):]
    values = (_cka(p, q, debiased) for p in left for q in right)
    return np.fromiter(values, dtype=np.float64, count=len(left) * len(right)).reshape(len(left), len(right))


def cka_pairs(named: Mapping[str, ArrayLike], *, debiased: bool = False) -> dict[tuple[str, str], float]:
    """CKA of every unordered pair (a, b), a before b in `named`'s order, e.g. every pair of languages at
    one layer. Each matrix is prepared once, so k inputs cost k self-HSICs and k(k-1)/2 cross products."""
    prepared = dict(zip(named, _prepared(list(named.items()), debiased), strict=True))
    return {(a, b): _cka(prepared[a], prepared[b], debiased) for a, b in combinations(named, 2)}


def _validated(named: Sequence[tuple[str, ArrayLike]], debiased: bool) -> list[np.ndarray]:
    """float64 copies for the Gram reference, refused on the same grounds and with the same messages as the
    feature path (it needs n x n matrices anyway, so whole copies cost it nothing extra in scale)."""
    arrays = _checked(named, debiased)
    for (name, _), x in zip(named, arrays, strict=True):
        _column_means(x, name)
    return [np.array(x, dtype=np.float64) for x in arrays]


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
