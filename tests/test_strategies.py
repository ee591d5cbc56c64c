"""theorycheck.strategies: every draw satisfies its family's invariant, the advertised corners
are reached within a bounded number of draws, each domain's chart lands in the domain and
inverts on the draws, and bad arguments get one-line messages that name the value."""

from __future__ import annotations

import doctest
import random

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import theorycheck.strategies as S
from theorycheck.errors import SpecError
from theorycheck.strategies import StrategyArgumentError, domain_of

EPS = np.finfo(np.float64).eps
FAST = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))


def _tol(A, k=64):
    return k * EPS * max(A.shape) * max(1.0, float(np.abs(A).max()))


def _sv(A):
    return np.linalg.svd(A, compute_uv=False)


# --------------------------------------------------------------------- invariants


def inv_box(A):
    assert A.min() >= -2.0 and A.max() <= 3.0


def inv_log(A):
    mag = np.abs(A[A != 0])
    assert np.all((mag >= 1e-4) & (mag <= 1e4))


def inv_symmetric(A):
    assert np.array_equal(A, A.T) and np.abs(A).max() <= 2.0


def inv_psd(A):
    assert np.array_equal(A, A.T)
    assert np.linalg.eigvalsh(A).min() >= -_tol(A)


def inv_psd_rank2(A):
    inv_psd(A)
    s = _sv(A)
    assert len(s) <= 2 or s[2] <= _tol(A) * max(1.0, s[0])


def inv_orthogonal(A):
    assert np.abs(A.T @ A - np.eye(len(A))).max() <= _tol(A)


def inv_reflection(A):
    inv_orthogonal(A)
    assert np.linalg.det(A) < 0


def inv_low_rank(A):
    s = _sv(A)
    assert len(s) <= 3 or s[3] <= _tol(A) * max(1.0, s[0])


def inv_conditioned(A):
    s = _sv(A)
    assert abs(s[0] - 2.0) <= 1e-12
    if len(s) > 1:
        c = s[0] / s[-1]
        assert 1e2 * (1 - 1e-6) <= c <= 1e10 * (1 + 1e-3)


def inv_sign(A):
    assert np.all(np.abs(A) == 1.0)


def inv_trace_free(A):
    assert abs(np.trace(A)) <= _tol(A)


def inv_gaussian(A):
    assert np.all(np.isfinite(A)) and np.abs(A).max() <= 5.8 * 3.0


FAMILIES = {
    "box": (S.box_matrices((1, 5), (1, 4), min_value=-2.0, max_value=3.0), inv_box),
    "log": (S.log_matrices((1, 5), min_magnitude=1e-4, max_magnitude=1e4), inv_log),
    "gaussian": (S.gaussian_matrices((1, 5), (1, 5), scale=3.0), inv_gaussian),
    "symmetric": (S.symmetric_matrices((1, 6), bound=2.0), inv_symmetric),
    "psd": (S.psd_matrices((1, 6), scale=5.0), inv_psd),
    "psd_rank2": (S.psd_matrices((1, 6), rank=2), inv_psd_rank2),
    "orthogonal": (S.orthogonal_matrices((1, 7)), inv_orthogonal),
    "reflection": (S.orthogonal_matrices((1, 5), det=-1), inv_reflection),
    "low_rank": (S.low_rank_matrices((1, 6), (1, 6), rank=(1, 3)), inv_low_rank),
    "conditioned": (S.conditioned_matrices((1, 5), (1, 5), cond=(1e2, 1e10), scale=2.0),
                    inv_conditioned),
    "sign": (S.sign_matrices((1, 6), (1, 6)), inv_sign),
    "trace_free": (S.trace_free_matrices((1, 6)), inv_trace_free),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_draws_satisfy_invariant_and_domain(name):
    strategy, invariant = FAMILIES[name]

    @FAST
    @given(strategy)
    def check(A):
        assert isinstance(A, np.ndarray) and A.dtype == np.float64 and A.ndim == 2
        assert np.all(np.isfinite(A))
        nonzero = np.abs(A[A != 0])
        assert nonzero.size == 0 or nonzero.min() > 1e-100  # nothing near subnormal
        invariant(A)
        assert strategy.domain.of(A).contains(A), A

    check()


# -------------------------------------------------------------------------- corners


def _reached(strategy, predicate, budget=300):
    """The first draw satisfying ``predicate`` within ``budget`` generated examples."""
    return find(strategy, predicate, random=random.Random(0),
                settings=settings(max_examples=budget, database=None, deadline=None,
                                  phases=[Phase.generate], suppress_health_check=list(HealthCheck)))


def _rank(A):
    return int(np.linalg.matrix_rank(A))


def _square(n):
    return lambda A: A.shape == (n, n)


CORNERS = [
    ("box zero", S.box_matrices((1, 4)), lambda A: not A.any()),
    ("box vertex", S.box_matrices((2, 4)), lambda A: np.all(np.abs(A) == 1.0) and A.size > 1),
    ("box Hadamard 4x4", S.box_matrices(4), lambda A: abs(abs(np.linalg.det(A)) - 16) < 1e-9),
    ("box repeated rows", S.box_matrices((2, 4)),
     lambda A: A.any() and any(np.array_equal(A[i], A[-1]) for i in range(len(A) - 1))),
    ("box near-singular", S.box_matrices((2, 4)),
     lambda A: _rank(A) == len(A) and np.linalg.cond(A) > 1e6),
    ("log all at max", S.log_matrices((2, 3)), lambda A: np.all(np.abs(A) == 1e6)),
    ("log rows at both scales", S.log_matrices((2, 3)),
     lambda A: np.abs(A).max() == 1e6 and np.abs(A[A != 0]).min() == 1e-6),
    ("gaussian rank one", S.gaussian_matrices((2, 4)), lambda A: A.any() and _rank(A) == 1),
    ("symmetric repeated top eigenvalue", S.symmetric_matrices((3, 5)),
     lambda A: A.any() and np.ptp(np.linalg.eigvalsh(A)[-2:]) < 1e-12 * np.abs(A).max()),
    ("symmetric gap 1e-9", S.symmetric_matrices((3, 5)),
     lambda A: 0 < np.ptp(np.linalg.eigvalsh(A)[-2:]) < 1e-8),
    ("symmetric lambda_max = -lambda_min", S.symmetric_matrices((2, 5)),
     lambda A: A.any() and abs(np.linalg.eigvalsh(A).max() + np.linalg.eigvalsh(A).min()) < 1e-12
     and not np.allclose(A, np.diag(np.diag(A)))),
    ("psd singular", S.psd_matrices((2, 5)),
     lambda A: A.any() and np.linalg.eigvalsh(A)[0] <= 1e-14 * np.linalg.eigvalsh(A)[-1]),
    ("psd ill-conditioned", S.psd_matrices((3, 5)),
     lambda A: np.linalg.eigvalsh(A)[0] > 0 and np.linalg.cond(A) > 1e10),
    ("orthogonal half-turn (eigenvalue -1, det +1)", S.orthogonal_matrices((2, 5)),
     lambda A: np.linalg.det(A) > 0 and np.min(np.abs(np.linalg.eigvals(A) + 1)) < 1e-9
     and not np.allclose(np.abs(A), np.round(np.abs(A)))),
    ("orthogonal reflection", S.orthogonal_matrices((2, 5)), lambda A: np.linalg.det(A) < 0),
    ("orthogonal non-trivial permutation", S.orthogonal_matrices((3, 5)),
     lambda A: np.array_equal(A, np.abs(A)) and not np.array_equal(A, np.eye(len(A)))),
    ("low-rank rank drop", S.low_rank_matrices((3, 5), (3, 5), rank=3),
     lambda A: _rank(A) == 2),
    ("conditioned at the top", S.conditioned_matrices((2, 4), cond=(10.0, 1e12)),
     lambda A: np.linalg.cond(A) > 0.5e12),
    ("sign Hadamard 4x4", S.sign_matrices(4), lambda A: abs(abs(np.linalg.det(A)) - 16) < 1e-9),
    ("sign extreme 5x5 (|det| = 48)", S.sign_matrices(5),
     lambda A: abs(abs(np.linalg.det(A)) - 48) < 1e-9),
    ("sign singular", S.sign_matrices((3, 5)), lambda A: _rank(A) < len(A)),
    ("trace-free nilpotent", S.trace_free_matrices((2, 5)),
     lambda A: A.any() and not np.linalg.matrix_power(A, len(A)).any()),
    ("trace-free skew", S.trace_free_matrices((2, 5)),
     lambda A: A.any() and np.array_equal(A, -A.T)),
]


@pytest.mark.parametrize("label, strategy, predicate", CORNERS, ids=[c[0] for c in CORNERS])
def test_corner_reached_within_budget(label, strategy, predicate):
    A = _reached(strategy, predicate)
    assert predicate(A)


def test_uniform_box_draws_miss_the_hadamard_corner():
    """The reason the corners exist: 300 uniform draws of [-1, 1]^(4x4) never reach |det| = 16."""
    rng = np.random.default_rng(0)
    dets = np.abs(np.linalg.det(rng.uniform(-1, 1, (300, 4, 4))))
    assert dets.max() < 8


# --------------------------------------------------------------------------- domains


def _theta(p):
    return st.lists(st.floats(-10, 10, allow_nan=False, allow_subnormal=False),
                    min_size=p, max_size=p).map(np.array)


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_from_params_lands_in_domain_and_to_params_inverts(name):
    strategy, _ = FAMILIES[name]

    @FAST
    @given(st.data())
    def check(data):
        A = data.draw(strategy, label="A")
        dom = strategy.domain.of(A)
        theta = data.draw(_theta(dom.p), label="theta")
        X = dom.from_params(theta)
        assert X.shape == dom.shape and np.all(np.isfinite(X))
        assert dom.contains(X if dom.exact else dom.project(X)), X
        # project lands in the domain from an arbitrary matrix of the shape
        M = data.draw(st.lists(st.floats(-5, 5, allow_subnormal=False), min_size=A.size,
                               max_size=A.size).map(lambda v: np.reshape(v, A.shape)), label="M")
        assert dom.contains(dom.project(M))
        back = dom.to_params(A)
        if back is not None:
            assert back.shape == (dom.p,)
            scale = max(1.0, dom.box[1] if dom.box else 0.0, float(np.abs(A).max()))
            assert np.allclose(dom.from_params(back), A, rtol=0, atol=1e-9 * scale)

    check()


def test_domain_api_shapes_and_errors():
    s = S.orthogonal_matrices((2, 4))
    fam = domain_of(s)
    assert fam.shapes == ((2, 2), (3, 3), (4, 4)) and len(fam) == 3
    assert [d.p for d in fam] == [1, 3, 6]
    assert fam((3, 3)) is fam.of(np.eye(3))
    with pytest.raises(StrategyArgumentError, match=r"draws 3 shapes; pass one"):
        fam()
    with pytest.raises(StrategyArgumentError, match=r"shape=\(5, 5\) is not drawn"):
        fam((5, 5))
    with pytest.raises(StrategyArgumentError, match=r"theta has shape \(2,\); pass .* p=3"):
        fam((3, 3)).from_params(np.zeros(2))
    with pytest.raises(StrategyArgumentError, match="carries no matrix domain"):
        domain_of(s.map(lambda A: A))
    assert S.box_matrices(2, 3).domain().shape == (2, 3)


def test_orthogonal_chart_round_trip_and_its_limits():
    dom = S.orthogonal_matrices(4).domain()
    rng = np.random.default_rng(3)
    for _ in range(5):
        theta = rng.uniform(-1, 1, dom.p)
        Q = dom.from_params(theta)
        np.testing.assert_allclose(dom.from_params(dom.to_params(Q)), Q, atol=1e-10)
    assert dom.to_params(np.diag([-1.0, 1.0, 1.0, 1.0])) is None    # det -1: outside the chart
    assert not dom.surjective and S.orthogonal_matrices(4, det=-1).domain().surjective
    refl = S.orthogonal_matrices(3, det=-1).domain()
    assert np.linalg.det(refl.from_params(np.zeros(3))) == pytest.approx(-1.0)


def test_conditioned_chart_hits_the_requested_condition_number():
    dom = S.conditioned_matrices(4, 3, cond=(1e3, 1e9), scale=2.0).domain()
    assert dom.p == 6 + 3 + 1 + 1 and dom.to_params(np.zeros((4, 3))) is None
    for t_c, want in ((np.pi / 2, 1e9), (-np.pi / 2, 1e3)):
        s = _sv(dom.from_params(np.r_[np.ones(dom.p - 1), t_c]))
        assert s[0] == pytest.approx(2.0) and s[0] / s[-1] == pytest.approx(want, rel=1e-5)


def test_sign_domain_is_a_relaxation_whose_vertices_are_members():
    dom = S.sign_matrices(3).domain()
    assert not dom.exact and dom.box == (-1.0, 1.0)
    V = dom.from_params(np.full(9, np.pi / 2) * np.sign(np.arange(9) - 4.5))
    assert dom.contains(V) and not dom.contains(0.5 * V)


def test_docstring_examples():
    failed, attempted = doctest.testmod(S, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert attempted >= 20 and failed == 0


# --------------------------------------------------------------------- bad arguments


BAD = [
    (S.box_matrices, (0,), {}, r"rows=0 is invalid: sides must be >= 1"),
    (S.box_matrices, ((4, 2),), {}, r"rows=\(4, 2\) is invalid: min 4 > max 2; pass rows=\(2, 4\)"),
    (S.box_matrices, (2.5,), {}, r"rows=2.5 is invalid: not an int"),
    (S.box_matrices, (True,), {}, r"rows=True is invalid"),
    (S.box_matrices, ((1, 40),), {}, r"rows=\(1, 40\) is invalid: .* pass a max <= 32"),
    (S.box_matrices, (3,), {"min_value": 1, "max_value": 1},
     r"min_value=1 must be below max_value=1"),
    (S.box_matrices, (3,), {"max_value": float("inf")}, r"max_value=inf is invalid: not finite"),
    (S.log_matrices, (3,), {"min_magnitude": 1e-300},
     r"min_magnitude=1e-300 is invalid: .*subnormals; pass min_magnitude >= 1e-150"),
    (S.log_matrices, (3,), {"min_magnitude": 10.0, "max_magnitude": 1.0},
     r"min_magnitude=10.0 exceeds max_magnitude=1.0"),
    (S.log_matrices, (3,), {"min_magnitude": 0}, r"min_magnitude=0 is invalid: must be > 0"),
    (S.gaussian_matrices, (3,), {"scale": -1.0}, r"scale=-1.0 is invalid: must be > 0"),
    (S.psd_matrices, (3,), {"scale": 1e-200}, r"scale=1e-200 is invalid: below 1e-100; pass scale >= 1e-100"),
    (S.box_matrices, (3,), {"min_value": 0.0, "max_value": 1e-120},
     r"max_value - min_value = 1e-120 is invalid: .* pass a box at least 1e-100 wide"),
    (S.symmetric_matrices, (3,), {"bound": "1"}, r"bound='1' is invalid: not a real number"),
    (S.psd_matrices, (3,), {"rank": 0}, r"rank=0 is invalid: pass a positive int"),
    (S.orthogonal_matrices, (3,), {"det": 2}, r"det=2 is invalid; pass None .*, 1 .* or -1"),
    (S.low_rank_matrices, (3,), {"rank": (2, 1)}, r"rank=\(2, 1\) is invalid: min 2 > max 1"),
    (S.conditioned_matrices, (3,), {"cond": 0.5}, r"cond=0.5 is invalid: below 1; pass cond >= 1"),
    (S.conditioned_matrices, (3,), {"cond": 1e20},
     r"cond=1e\+20 is invalid: above 1e\+15 .*; pass cond <= 1e\+15"),
    (S.conditioned_matrices, (3,), {"cond": (1e6, 10.0)},
     r"cond=\(1000000.0, 10.0\) is invalid: min 1e\+06 > max 10; pass cond=\(10, 1e\+06\)"),
    (S.sign_matrices, ((0, 3),), {}, r"rows=\(0, 3\) is invalid: sides must be >= 1"),
    (S.trace_free_matrices, ("3",), {}, r"n='3' is invalid: not an int"),
]


@pytest.mark.parametrize("factory, args, kwargs, message", BAD,
                         ids=[f"{b[0].__name__}-{i}" for i, b in enumerate(BAD)])
def test_bad_arguments_name_the_value_and_the_fix(factory, args, kwargs, message):
    with pytest.raises(StrategyArgumentError, match=message) as info:
        factory(*args, **kwargs)
    text = str(info.value)
    assert "\n" not in text and ("pass" in text or "use" in text)
    assert isinstance(info.value, SpecError) and isinstance(info.value, InvalidArgument)
