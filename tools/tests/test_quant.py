"""NUMERICS section 3: Q(), requantization constants, epilogues, weight/activation quantization."""
import math

import numpy as np
import pytest

from tools.quant import numerics as nm


def test_q_rounds_half_to_even_and_clamps():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, 0.49999997, 126.5, 127.5, 1e9, -1e9, -128.5], np.float32)
    q = nm.quantize(x, np.float32(1.0), 0)
    assert q.tolist() == [0, 2, 2, 0, -2, 0, 126, 127, 127, -128, -128]
    # the zero point is added after rounding, then clamped
    assert nm.quantize(np.array([2.5, 200.0], np.float32), np.float32(1.0), -5).tolist() == [-3, 127]
    assert nm.quantize(np.array([0.0], np.float32), np.float32(3.0), 17).tolist() == [17]


def test_q_uses_a_single_fp32_multiply():
    x = np.float32(0.1)
    inv = np.float32(1 / 0.02)
    t = np.float32(x * inv)            # one rounded multiply
    assert nm.quantize(np.array([x]), inv, 0)[0] == int(np.rint(t))


@pytest.mark.parametrize("r", [1e-9, 3.7e-5, 0.001, 0.25, 0.5, 0.9999999999, 1.0, 1.7, 123.0])
def test_requant_params_represent_the_multiplier(r):
    M, sh = nm.requant_params(r)
    assert (1 << 30) <= M < (1 << 31) and 1 <= sh <= 62
    assert abs(M / 2.0 ** sh - r) <= 2.0 ** -(sh + 0) and abs(M / 2.0 ** sh / r - 1) < 2 ** -30


def test_requant_params_edge_cases():
    f, e = math.frexp(1 - 2 ** -40)     # rounds up to 2^31 -> renormalised
    M, sh = nm.requant_params(1 - 2 ** -40)
    assert M == 1 << 30 and sh == 30
    assert nm.requant_params(2.0 ** -80) == (0, 1)      # output is always z_out
    with pytest.raises(ValueError):
        nm.requant_params(2.0 ** 31)


def test_epilogue_b_matches_exact_rational_rounding():
    rng = np.random.default_rng(0)
    for _ in range(200):
        r = float(np.exp(rng.uniform(-12, 0)))
        M, sh = nm.requant_params(r)
        acc = int(rng.integers(-2 ** 24, 2 ** 24))
        bq, z = int(rng.integers(-1000, 1000)), int(rng.integers(-20, 20))
        got = int(nm.epilogue_b(np.array([acc]), [M], [sh], [bq], [z])[0])
        # round-half-up of (acc+bq)*M / 2^sh, in exact integers
        num = (acc + bq) * M
        want = max(-128, min(127, math.floor((num + (1 << (sh - 1))) / (1 << sh)) + z))
        assert got == want
        # and within one step of the real-valued requantization
        real = (acc + bq) * r + z
        assert real < -129 or real > 128 or abs(got - real) <= 0.5 + 1e-6


def test_epilogue_a_is_one_multiply_then_one_add():
    acc = np.array([123456789, -7, 0], np.int64)
    m = np.array([1.1e-5, 0.3, 2.0], np.float32)
    b = np.array([0.25, -1.0, 0.0], np.float32)
    y = nm.epilogue_a(acc, m, b)
    want = (acc.astype(np.float32) * m).astype(np.float32) + b
    assert np.array_equal(y, want) and y.dtype == np.float32


def test_int_matmul_exact_with_zero_point():
    rng = np.random.default_rng(1)
    a = rng.integers(-128, 128, (5, 300)).astype(np.int32)
    w = rng.integers(-127, 128, (7, 300)).astype(np.int8)
    got = nm.int_matmul(a, -3, w)
    want = (a.astype(np.int64) + 3) @ w.astype(np.int64).T
    assert np.array_equal(got, want)


def test_weight_qparams_symmetric_per_row():
    w = np.array([[0.5, -1.0, 0.25], [0.0, 0.0, 0.0], [3.0, 1.5, -0.75]], np.float32)
    q, s = nm.weight_qparams(w)
    assert s.tolist() == [1.0 / 127, 1.0, 3.0 / 127]
    assert q[0].tolist() == [64, -127, 32] and q[1].tolist() == [0, 0, 0] and q[2].tolist() == [127, 64, -32]
    assert q.min() >= -127


def test_act_qparams_cover_range_and_zero():
    s, z = nm.act_qparams(-1.0, 3.0)
    assert s == pytest.approx(4.0 / 255) and -128 <= z <= 127
    assert nm.quantize(np.array([-1.0, 0.0, 3.0], np.float32), np.float32(1 / s), z).tolist()[0] == -128
    assert nm.quantize(np.array([3.0], np.float32), np.float32(1 / s), z)[0] == 127
    s, z = nm.act_qparams(0.5, 2.0)           # range widened to include 0
    assert z == -128
    assert nm.act_qparams(0.0, 0.0) == (1.0, -128)
