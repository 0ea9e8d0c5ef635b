"""The primitives of docs/NUMERICS.md in numpy, one rounded float32 operation at a time."""
from __future__ import annotations

import math

import numpy as np

F = np.float32


def f32(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


# ---------------------------------------------------------------- reductions (NUMERICS 2.1)

def lane16(x: np.ndarray) -> np.ndarray:
    """Sum over the last axis in the canonical lane16 order."""
    x = f32(x)
    n = x.shape[-1]
    pad = (-n) % 16
    if pad:
        x = np.concatenate([x, np.zeros(x.shape[:-1] + (pad,), np.float32)], axis=-1)
    rows = x.reshape(x.shape[:-1] + (-1, 16))
    acc = np.zeros(x.shape[:-1] + (16,), np.float32)
    for r in range(rows.shape[-2]):
        acc = acc + rows[..., r, :]
    for w in (8, 4, 2, 1):
        acc = acc[..., :w] + acc[..., w:2 * w]
    return acc[..., 0]


def seq_matvec(W: np.ndarray, v: np.ndarray) -> np.ndarray:
    """out[o] = Σ_k W[o,k] v[k] in the seq order (product rounded, then sum rounded, k increasing)."""
    W, v = f32(W), f32(v)
    acc = np.zeros(W.shape[0], np.float32)
    for k in range(W.shape[1]):
        acc = acc + W[:, k] * v[k]
    return acc


# ---------------------------------------------------------------- elementary functions (NUMERICS 4)

_EXP_C = [F(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2,
                         1.6666665459e-1, 5.0000001201e-1)]


def exp32(x) -> np.ndarray:
    x = f32(x)
    x = np.minimum(np.maximum(x, F(-87.0)), F(88.0))
    n = np.rint(x * F(1.44269504))
    r = x - n * F(0.693145751953125)
    r = r - n * F(1.42860677e-06)
    p = np.full_like(r, _EXP_C[0])
    for c in _EXP_C[1:]:
        p = p * r + c
    p = (p * (r * r) + r) + F(1.0)
    two_n = ((n.astype(np.int32) + 127) << 23).astype(np.int32).view(np.float32)
    return p * two_n


_NUMEXP_C = tuple(np.array([0x3D2912DB, 0x3E2B8E55, 0x3F00035A], np.uint32).view(np.float32))


def numerator_exp(d) -> np.ndarray:
    """NUMERICS 6 step 4: e^d for the int8 softmax numerators (d = l - max <= 0): d below -17 (and NaN) as -17,
    Cody-Waite with one ln2, a degree-4 polynomial with 1 + r exact (so e^0 = 1), then 2^n."""
    d = f32(d)
    x = np.where(d > F(-17.0), d, F(-17.0)).astype(np.float32)
    n = np.rint(x * F(1.44269504))
    r = x - n * F(0.693147182)
    p = np.full_like(r, _NUMEXP_C[0])
    p = p * r + _NUMEXP_C[1]
    p = p * r + _NUMEXP_C[2]
    p = p * r + F(1.0)
    p = p * r + F(1.0)
    two_n = ((n.astype(np.int32) + 127) << 23).astype(np.int32).view(np.float32)
    return p * two_n


def erf32(x) -> np.ndarray:
    x = f32(x)
    a = np.abs(x)
    t = F(1.0) / (F(1.0) + F(0.3275911) * a)
    y = np.full_like(t, F(1.061405429))
    y = y * t - F(1.453152027)
    y = y * t + F(1.421413741)
    y = y * t - F(0.284496736)
    y = y * t + F(0.254829592)
    y = y * t
    e = exp32(-(a * a))
    r = F(1.0) - y * e
    return np.where(x < 0, -r, r).astype(np.float32)


def gelu(x) -> np.ndarray:
    x = f32(x)
    return (x * F(0.5)) * (F(1.0) + erf32(x * F(0.70710677)))


def sigmoid(x) -> np.ndarray:
    x = f32(x)
    return F(1.0) / (F(1.0) + exp32(-x))


def quickgelu(x) -> np.ndarray:
    x = f32(x)
    return x * sigmoid(F(1.702) * x)


def relu(x) -> np.ndarray:
    return np.maximum(f32(x), F(0.0))


# ---------------------------------------------------------------- composite fp32 ops (NUMERICS 5)

def layernorm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    """LayerNorm over the last axis."""
    x = f32(x)
    C = F(x.shape[-1])
    mean = lane16(x) / C
    d = x - mean[..., None]
    var = lane16(d * d) / C
    rs = F(1.0) / np.sqrt(var + F(eps))
    return (d * rs[..., None]) * f32(w) + f32(b)


def mm32(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """fp32-path matmul: float64 products and sums rounded once to float32, so the result does not depend on
    the BLAS kernel's summation order (fixtures regenerate identically on any x86/ARM machine)."""
    return (np.asarray(a, np.float64) @ np.asarray(b, np.float64)).astype(np.float32)


def softmax32(l: np.ndarray) -> np.ndarray:
    """fp32-path softmax over the last axis (exp32, max-subtracted; float64 sum rounded once)."""
    e = exp32(l - l.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True, dtype=np.float64).astype(np.float32)


def channel_attention(x: np.ndarray, w1, b1, w2, b2) -> np.ndarray:
    """DFAM senet on an [H, W, C] map (NUMERICS 5)."""
    x = f32(x)
    H, W, C = x.shape
    flat = x.reshape(H * W, C).T                       # [C, HW]
    avg = lane16(flat) / F(H * W)
    mx = flat.max(axis=1)

    def fc(v):
        return seq_matvec(w2, relu(seq_matvec(w1, v) + f32(b1))) + f32(b2)

    g = sigmoid(fc(avg) + fc(mx))
    return x + x * g


# ---------------------------------------------------------------- quantization (NUMERICS 3)

def quantize(x: np.ndarray, inv_s, z) -> np.ndarray:
    """Q(x; inv_s, z) -> int32 array of values in [-128, 127]."""
    t = f32(x) * F(inv_s)
    t = np.minimum(np.maximum(t, F(-1024.0)), F(1024.0))
    q = np.rint(t).astype(np.int32) + np.int32(z)
    return np.clip(q, -128, 127).astype(np.int32)


def activation_table(act, s_out: float, z_out: int, inv_s, z) -> np.ndarray:
    """NUMERICS 3.5: T[q + 128] = Q(act(f32(s_out) * f32(q - z_out)); inv_s, z) for q in [-128, 127] (int32)."""
    q = np.arange(-128, 128, dtype=np.int32)
    v = F(s_out) * (q - np.int32(z_out)).astype(np.float32)
    return quantize(act(v), inv_s, z)


def int_matmul(a_q: np.ndarray, z_a: int, w_q: np.ndarray) -> np.ndarray:
    """acc[..., c] = Σ_k (a_q[..., k] - z_a) w_q[c, k] as int64 (exact through float64: |acc| << 2^53)."""
    a = a_q.astype(np.float64) - float(z_a)
    acc = a @ w_q.astype(np.float64).T
    return acc.astype(np.int64)


def epilogue_a(acc: np.ndarray, m: np.ndarray, b: np.ndarray) -> np.ndarray:
    return acc.astype(np.float32) * f32(m) + f32(b)


def epilogue_b(acc: np.ndarray, mult, shift, bias_q, out_zero) -> np.ndarray:
    a = acc.astype(np.int64) + np.asarray(bias_q, np.int64)
    sh = np.asarray(shift, np.int64)
    out = ((a * np.asarray(mult, np.int64) + (np.int64(1) << (sh - 1))) >> sh) + np.asarray(out_zero, np.int64)
    return np.clip(out, -128, 127).astype(np.int32)


def requant_params(r: float) -> tuple[int, int]:
    """(M, sh) for the real multiplier r > 0 (NUMERICS 3.4); (0, 1) when the output is always z_out."""
    if not r > 0:
        return 0, 1
    f, e = math.frexp(r)
    M = int(round(f * (1 << 31)))
    if M == (1 << 31):
        M, e = 1 << 30, e + 1
    sh = 31 - e
    if sh > 62:
        return 0, 1
    if sh < 1:
        raise ValueError(f"requantization multiplier {r} too large (broken calibration)")
    return M, sh


def act_qparams(lo: float, hi: float) -> tuple[float, int]:
    """Asymmetric per-tensor (scale, zero) covering [lo, hi] (always including 0)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    s = (hi - lo) / 255.0
    if s <= 0 or not math.isfinite(s):
        s = 1.0
    z = int(np.clip(np.rint(-128.0 - lo / s), -128, 127))
    return s, z


def weight_qparams(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-row int8 weights and scales (float64 scales; NUMERICS 1)."""
    w = np.asarray(w, np.float64)
    amax = np.abs(w).max(axis=1) if w.shape[1] else np.zeros(w.shape[0])
    s = np.where(amax > 0, amax / 127.0, 1.0)
    q = np.clip(np.rint(w / s[:, None]), -127, 127).astype(np.int8)
    return q, s
