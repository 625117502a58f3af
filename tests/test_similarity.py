"""Linear CKA against known answers: exact rationals computed here from the definitions, the textbook Gram
formula, and the invariances Kornblith et al. (2019) prove (and the one they show CKA must not have)."""

from __future__ import annotations

import math
import tracemalloc
from fractions import Fraction
from itertools import permutations

import numpy as np
import pytest

from mtbridge import similarity
from mtbridge.similarity import aligned, cka_matrix, cka_pairs, gram_linear_cka, linear_cka

ESTIMATORS = pytest.mark.parametrize("debiased", [False, True], ids=["biased", "debiased"])
# Integer activations of 5 sentences: small enough for exact arithmetic over all 5!/1! ordered 4-tuples.
X_SMALL = [[1, 2], [0, 1], [3, -1], [2, 2], [-1, 0]]
Y_SMALL = [[1, 0, 2], [2, 1, 0], [0, 3, 1], [1, 1, 1], [4, 0, -2]]
# Their CKA^2, worked out by the definitions below (HSIC_0 = 4843/400, 1853/200, 1243/50 for XY, XX, YY;
# HSIC_1 = 52/15, 10/3, 239/30); CKA itself is positive in both cases.
CKA_SQUARED = {False: Fraction(23454649, 36852464), True: Fraction(2704, 5975)}


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def _gram(rows: list[list[int]]) -> list[list[Fraction]]:
    return [[Fraction(sum(a * b for a, b in zip(r, s, strict=True))) for s in rows] for r in rows]


def _matmul(a: list[list[Fraction]], b: list[list[Fraction]]) -> list[list[Fraction]]:
    return [[sum(a[i][m] * b[m][j] for m in range(len(b))) for j in range(len(b[0]))] for i in range(len(a))]


def _hsic_0(k: list[list[Fraction]], l_: list[list[Fraction]]) -> Fraction:
    """tr(K H L H) / (n-1)^2 with an explicit centring matrix H = I - 11^T/n (Gretton et al. 2005)."""
    n = len(k)
    h = [[Fraction(int(i == j)) - Fraction(1, n) for j in range(n)] for i in range(n)]
    khlh = _matmul(_matmul(_matmul(k, h), l_), h)
    return sum(khlh[i][i] for i in range(n)) / (n - 1) ** 2


def _hsic_1(k: list[list[Fraction]], l_: list[list[Fraction]]) -> Fraction:
    """The U-statistic that HSIC_1 equals (Song et al. 2012, Theorem 2): the mean over ordered distinct
    (i, j, q, r) of k_ij l_ij + k_ij l_qr - 2 k_ij l_iq, so no term pairs an entry with itself."""
    n = len(k)
    total = sum(k[i][j] * (l_[i][j] + l_[q][r] - 2 * l_[i][q]) for i, j, q, r in permutations(range(n), 4))
    return total / math.perm(n, 4)


@ESTIMATORS
def test_fixed_reference_value_by_hand(debiased: bool) -> None:
    hsic = _hsic_1 if debiased else _hsic_0
    k, l_ = _gram(X_SMALL), _gram(Y_SMALL)
    squared = hsic(k, l_) ** 2 / (hsic(k, k) * hsic(l_, l_))
    assert squared == CKA_SQUARED[debiased]
    expected = math.sqrt(squared)
    assert linear_cka(X_SMALL, Y_SMALL, debiased=debiased) == pytest.approx(expected, abs=1e-12)
    assert gram_linear_cka(X_SMALL, Y_SMALL, debiased=debiased) == pytest.approx(expected, abs=1e-12)


@ESTIMATORS
def test_identical_inputs_give_one(rng: np.random.Generator, debiased: bool) -> None:
    x = rng.standard_normal((40, 7))
    assert linear_cka(x, x, debiased=debiased) == pytest.approx(1.0, abs=1e-12)
    assert gram_linear_cka(x, x, debiased=debiased) == pytest.approx(1.0, abs=1e-12)


@ESTIMATORS
def test_invariant_to_orthogonal_maps_isotropic_scaling_and_translation(rng: np.random.Generator,
                                                                        debiased: bool) -> None:
    x, y = rng.standard_normal((30, 6)), rng.standard_normal((30, 9))
    rotation, _ = np.linalg.qr(rng.standard_normal((9, 9)))
    reference = linear_cka(x, y, debiased=debiased)
    transformed = linear_cka(3.7 * x + 5.0, y @ rotation - 2.0, debiased=debiased)
    assert transformed == pytest.approx(reference, abs=1e-12)


@ESTIMATORS
def test_not_invariant_to_general_invertible_maps(rng: np.random.Generator, debiased: bool) -> None:
    # Kornblith et al. (2019, section 2.1): invariance to invertible linear maps would make any two
    # representations with d >= n maximally similar. For isotropic X and Y = X A, A = diag(1, 2, 4, 8, 16),
    # CKA -> ||A||_F^2 / sqrt(d ||A^T A||_F^2) = 0.577, while a whitening (CCA-like) formula gives 1.
    x = rng.standard_normal((400, 5))
    value = linear_cka(x, x @ np.diag([1.0, 2.0, 4.0, 8.0, 16.0]), debiased=debiased)
    assert 0.45 < value < 0.7


@ESTIMATORS
@pytest.mark.parametrize("n, d_x, d_y", [(4, 3, 2), (5, 2, 3), (12, 3, 5), (20, 50, 7), (8, 40, 90),
                                         (60, 200, 150), (300, 10, 20)])
def test_feature_space_equals_gram_formula(rng: np.random.Generator, n: int, d_x: int, d_y: int,
                                           debiased: bool) -> None:
    x = rng.standard_normal((n, d_x)) + rng.standard_normal(d_x)  # non-zero means: centring is tested too
    y = x[:, :1] @ rng.standard_normal((1, d_y)) + rng.standard_normal((n, d_y)) + 1.0
    feature, gram = linear_cka(x, y, debiased=debiased), gram_linear_cka(x, y, debiased=debiased)
    assert feature == pytest.approx(gram, abs=1e-10)


@ESTIMATORS
@pytest.mark.parametrize("n", [8, 53], ids=["one block and a row", "ragged last block"])
def test_row_blocks_sum_to_the_gram_formula(rng: np.random.Generator, monkeypatch: pytest.MonkeyPatch,
                                            n: int, debiased: bool) -> None:
    # 7-row blocks: n is not a multiple of the block size, so the last block is short.
    monkeypatch.setattr(similarity, "_CHUNK_ROWS", 7)
    x = rng.standard_normal((n, 5)) + 10.0 * rng.standard_normal(5)  # large means: centring per block
    y = x @ rng.standard_normal((5, 9)) + rng.standard_normal((n, 9)) - 4.0
    assert linear_cka(x, y, debiased=debiased) == pytest.approx(gram_linear_cka(x, y, debiased=debiased),
                                                                abs=1e-10)
    matrix = cka_matrix([x, y], [y], debiased=debiased)
    assert matrix[0, 0] == pytest.approx(gram_linear_cka(x, y, debiased=debiased), abs=1e-10)
    assert matrix[1, 0] == pytest.approx(1.0, abs=1e-12)


@ESTIMATORS
def test_float16_input_equals_its_values_in_float64(rng: np.random.Generator,
                                                    monkeypatch: pytest.MonkeyPatch, debiased: bool) -> None:
    monkeypatch.setattr(similarity, "_CHUNK_ROWS", 7)
    x = (3.0 * rng.standard_normal((40, 6)) + 20.0).astype(np.float16)
    y = rng.standard_normal((40, 4)).astype(np.float32) + x[:, :4]
    exact = linear_cka(x.astype(np.float64), y.astype(np.float64), debiased=debiased)
    assert linear_cka(x, y, debiased=debiased) == pytest.approx(exact, abs=1e-15)
    assert gram_linear_cka(x, y, debiased=debiased) == pytest.approx(exact, abs=1e-10)


def test_memory_does_not_hold_a_float64_copy_of_the_input(rng: np.random.Generator) -> None:
    x = rng.standard_normal((60_000, 16)).astype(np.float16)
    y = (x[:, :8] + rng.standard_normal((60_000, 8))).astype(np.float16)
    tracemalloc.start()
    try:
        linear_cka(x, y, debiased=True)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < x.size * 8 / 4  # a float64 copy of x alone is 7.7 MB; two 2048-row blocks are 0.4 MB


@ESTIMATORS
def test_pairs_are_every_unordered_pair_in_mapping_order(rng: np.random.Generator, debiased: bool) -> None:
    base = rng.standard_normal((30, 4))
    named = {lang: base @ rng.standard_normal((4, 6)) + rng.standard_normal((30, 6))
             for lang in ("en", "de", "zh", "ar")}
    pairs = cka_pairs(named, debiased=debiased)
    assert list(pairs) == [("en", "de"), ("en", "zh"), ("en", "ar"), ("de", "zh"), ("de", "ar"), ("zh", "ar")]
    for (a, b), value in pairs.items():
        assert value == pytest.approx(linear_cka(named[a], named[b], debiased=debiased), abs=1e-14)
    assert cka_pairs({"en": base}) == {}


def test_pairs_name_the_bad_input() -> None:
    with pytest.raises(ValueError, match="de contains NaN or inf"):
        cka_pairs({"en": _normal(6, 2), "de": _with_entry(np.nan)})


def test_debiased_removes_the_bias_of_wide_independent_features(rng: np.random.Generator) -> None:
    # For independent isotropic X, Y the population CKA is 0, but biased CKA tends to d/(n+d) = 2/3 here.
    x, y = rng.standard_normal((500, 1000)), rng.standard_normal((500, 1000))
    assert abs(linear_cka(x, y, debiased=True)) < 0.05
    assert linear_cka(x, y) > 0.5


@ESTIMATORS
def test_symmetric(rng: np.random.Generator, debiased: bool) -> None:
    x, y = rng.standard_normal((25, 4)), rng.standard_normal((25, 11))
    forward, backward = linear_cka(x, y, debiased=debiased), linear_cka(y, x, debiased=debiased)
    assert forward == pytest.approx(backward, abs=1e-14)


@ESTIMATORS
def test_matrix_equals_pairwise_cka(rng: np.random.Generator, debiased: bool) -> None:
    xs = [rng.standard_normal((30, d)) for d in (3, 8, 5)]
    ys = [xs[0] @ rng.standard_normal((3, 4)) + rng.standard_normal((30, 4)), rng.standard_normal((30, 6))]
    matrix = cka_matrix(xs, ys, debiased=debiased)
    expected = [[linear_cka(x, y, debiased=debiased) for y in ys] for x in xs]
    assert matrix.shape == (3, 2)
    np.testing.assert_allclose(matrix, expected, rtol=0, atol=1e-14)


def test_matrix_accepts_float32_stacks_and_no_layers(rng: np.random.Generator) -> None:
    layers = rng.standard_normal((2, 20, 4)).astype(np.float32)
    assert cka_matrix(layers, layers).diagonal() == pytest.approx([1.0, 1.0], abs=1e-12)
    assert cka_matrix([], layers).shape == (0, 2)


_RNG = np.random.default_rng(1)


def _normal(*shape: int) -> np.ndarray:
    return _RNG.standard_normal(shape)


def _with_entry(value: float) -> np.ndarray:
    x = _normal(6, 2)
    x[2, 1] = value
    return x


BAD_INPUTS = {
    "different n": (_normal(10, 3), _normal(11, 3), False, "different numbers of sentences"),
    "n < 4 debiased": (_normal(3, 2), _normal(3, 2), True, "at least 4 sentences"),
    "NaN": (_with_entry(np.nan), _normal(6, 2), False, "x contains NaN or inf"),
    "inf": (_normal(6, 2), _with_entry(-np.inf), True, "y contains NaN or inf"),
    "all rows equal": (np.full((6, 2), 2.5), _normal(6, 2), False, "x has zero variance"),
    "one row": (_normal(1, 3), _normal(1, 3), False, "zero variance"),
    "1-D": (_normal(6), _normal(6, 2), False, "x must be 2-D"),
    "3-D": (_normal(6, 2), _normal(6, 2, 2), False, "y must be 2-D"),
}


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
@pytest.mark.parametrize("cka", [linear_cka, gram_linear_cka], ids=["feature", "gram"])
def test_refuses_bad_input(cka, case) -> None:
    x, y, debiased, message = case
    with pytest.raises(ValueError, match=message):
        cka(x, y, debiased=debiased)


def test_matrix_refuses_layers_over_different_sentences() -> None:
    with pytest.raises(ValueError, match=r"different numbers of sentences \(rows\): \[10, 11\]"):
        cka_matrix([_normal(10, 3)], [_normal(10, 3), _normal(11, 3)])


@pytest.mark.parametrize("cka", [linear_cka, gram_linear_cka], ids=["feature", "gram"])
def test_refuses_vanishing_debiased_self_hsic(rng: np.random.Generator, cka) -> None:
    # X = I_n centres to the centring matrix H, whose off-diagonal is constant: U-centring leaves nothing,
    # so HSIC_1(X, X) = 0 exactly and debiased CKA is 0/0 (biased CKA stays defined).
    y = rng.standard_normal((6, 3))
    with pytest.raises(ValueError, match="not positive"):
        cka(np.eye(6), y, debiased=True)
    assert 0 < cka(np.eye(6), y) < 1


def test_aligned_accepts_identical_ids() -> None:
    aligned(["s1", "s2", "s3"], ("s1", "s2", "s3"))


@pytest.mark.parametrize("ids_y, message", [
    (["s1", "s3", "s2"], "position 1: 's2' vs 's3'"),
    (["s1", "s2", "x"], "position 2: 's3' vs 'x'"),
    (["s1", "s2"], r"position 2: 's3' vs None \(3 vs 2 ids\)"),
    (["s1", "s2", "s3", "s4"], "position 3: None vs 's4'"),
], ids=["order", "content", "shorter", "longer"])
def test_aligned_names_first_mismatch(ids_y: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        aligned(["s1", "s2", "s3"], ids_y)
