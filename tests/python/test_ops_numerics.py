"""numpy model of docs/NUMERICS.md primitives, and the generator of the Swift test vectors.

`python tests/python/test_ops_numerics.py` prints the Swift source of
Tests/LiteModelTests/NumericsVectorsTests+Data.swift (the vectors the Swift ops are checked against);
the tests below check this numpy model against float64 references and check that the committed Swift
file holds exactly what this generator produces, so the two cannot drift apart.
"""
from __future__ import annotations

import math
import pathlib
import re

import numpy as np

f32 = np.float32
ROOT = pathlib.Path(__file__).resolve().parents[2]
SWIFT_DATA = ROOT / "Tests/LiteModelTests/NumericsVectorsTests+Data.swift"


# ---- NUMERICS 3-5, one rounded float32 op per line (numpy never fuses) ----

def exp32(x):
    x = np.asarray(x, dtype=f32)
    x = np.minimum(np.maximum(x, f32(-87.0)), f32(88.0))
    n = np.rint(x * f32(1.44269504))
    r = x - n * f32(0.693145751953125)
    r = r - n * f32(1.42860677e-06)
    p = np.full_like(r, f32(1.9875691500e-4))
    for c in (1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1):
        p = p * r + f32(c)
    p = (p * (r * r) + r) + f32(1.0)
    scale = ((n.astype(np.int32) + 127) << 23).astype(np.int32).view(f32)
    return p * scale


def erf32(x):
    x = np.asarray(x, dtype=f32)
    a = np.abs(x)
    t = f32(1.0) / (f32(1.0) + f32(0.3275911) * a)
    y = np.full_like(t, f32(1.061405429))
    y = y * t - f32(1.453152027)
    y = y * t + f32(1.421413741)
    y = y * t - f32(0.284496736)
    y = y * t + f32(0.254829592)
    y = y * t
    e = exp32(-(a * a))
    r = f32(1.0) - y * e
    return np.where(x < 0, -r, r).astype(f32)


def gelu32(x):
    x = np.asarray(x, dtype=f32)
    return (x * f32(0.5)) * (f32(1.0) + erf32(x * f32(0.70710677)))


def sigmoid32(x):
    x = np.asarray(x, dtype=f32)
    return f32(1.0) / (f32(1.0) + exp32(-x))


def quickgelu32(x):
    x = np.asarray(x, dtype=f32)
    return x * sigmoid32(f32(1.702) * x)


def lane16(x):
    x = np.asarray(x, dtype=f32)
    n = (len(x) + 15) // 16 * 16
    acc = np.zeros(16, dtype=f32)
    for row in np.concatenate([x, np.zeros(n - len(x), f32)]).reshape(-1, 16):
        acc = acc + row
    for w in (8, 4, 2, 1):
        acc[:w] = acc[:w] + acc[w:2 * w]
    return acc[0]


def quantize(x, inv_s, z):
    t = np.asarray(x, dtype=f32) * f32(inv_s)
    t = np.minimum(np.maximum(t, f32(-1024.0)), f32(1024.0))
    return np.clip(np.rint(t).astype(np.int32) + z, -128, 127).astype(np.int8)


def requant(acc, m, sh, bq, z):
    a = int(acc) + int(bq)
    out = ((a * int(m) + (1 << (sh - 1))) >> sh) + z
    return max(-128, min(127, out))


def layer_norm(x, w, b, eps):
    x = np.asarray(x, dtype=f32)
    c = f32(len(x))
    mean = lane16(x) / c
    d = x - mean
    var = lane16(d * d) / c
    rs = f32(1.0) / np.sqrt(var + f32(eps))
    return (d * rs) * w + b


def resize_tap(x, src, dst):
    num, den = (2 * x + 1) * src - dst, 2 * dst
    if num < 0:
        return 0, 0
    x0 = num // den
    if x0 >= src - 1:
        return src - 1, 0
    return x0, ((num - x0 * den) * 2048 + den // 2) // den


def resize(img, dst_h, dst_w):
    src_h, src_w, ch = img.shape
    out = np.zeros((dst_h, dst_w, ch), np.uint8)
    for y in range(dst_h):
        y0, fy = resize_tap(y, src_h, dst_h)
        y1 = min(y0 + 1, src_h - 1)
        for x in range(dst_w):
            x0, fx = resize_tap(x, src_w, dst_w)
            x1 = min(x0 + 1, src_w - 1)
            for c in range(ch):
                s = ((2048 - fy) * ((2048 - fx) * int(img[y0, x0, c]) + fx * int(img[y0, x1, c]))
                     + fy * ((2048 - fx) * int(img[y1, x0, c]) + fx * int(img[y1, x1, c])))
                out[y, x, c] = (s + (1 << 21)) >> 22
    return out


def gamma_lut(gray_sum, count):
    mean = float(gray_sum) / float(count)
    m = min(max(mean, 1.0), 254.0) / 255.0
    g = math.log(0.5) / math.log(m)
    return [max(0, min(255, int(math.floor(255.0 * math.pow(i / 255.0, g) + 0.5)))) for i in range(256)]


def attention_q(q, k, v, zq, zk, zv, logit_scale, v_scale, gh, gw, rel=None):
    """One int8 attention head, NUMERICS 6; rel = (rh, rw, rh_scale, rw_scale) with expanded int8 tables."""
    qi = q.astype(np.int64) - zq
    S = qi @ (k.astype(np.int64) - zk).T
    l = S.astype(f32) * f32(logit_scale)
    if rel is not None:
        rh, rw, rh_scale, rw_scale = rel
        n = gh * gw
        relh = np.stack([qi[i] @ rh[i // gw].astype(np.int64).T for i in range(n)]).astype(f32) * f32(rh_scale)
        relw = np.stack([qi[i] @ rw[i % gw].astype(np.int64).T for i in range(n)]).astype(f32) * f32(rw_scale)
        j = np.arange(n)
        l = (l + relh[:, j // gw]) + relw[:, j % gw]
    e = exp32(l - l.max(axis=1, keepdims=True))
    P = np.rint(e * f32(255.0)).astype(np.int64)
    A = P @ (v.astype(np.int64) - zv)
    return (A.astype(f32) * f32(v_scale)) / P.sum(axis=1, keepdims=True).astype(f32)


# C3P (dual-sam.md 1.7): channel k votes with channel PARTNER[k][0] read at (r + dy, c + dx), zero outside.
C3P_PARTNER = ((7, 1, 0), (6, -1, 0), (5, 0, 1), (4, 0, -1), (3, 0, 1), (2, 0, 1), (1, 1, 0), (0, 1, 0))


def c3p(p):
    H, W, _ = p.shape
    pred = np.zeros((H, W), f32)
    for r in range(H):
        for c in range(W):
            best = f32(0)
            for k, (pk, dy, dx) in enumerate(C3P_PARTNER):
                rr, cc = r + dy, c + dx
                mate = p[rr, cc, pk] if 0 <= rr < H and 0 <= cc < W else f32(0)
                best = max(best, f32(p[r, c, k] * mate))
            pred[r, c] = best
    return pred


# ---- test vectors ----

def inputs():
    rng = np.random.default_rng(20261204)
    fixed = [0.0, 1.0, -1.0, 0.5, -0.5, 1e-8, -1e-8, 0.6931472, 3.1415927, -3.1415927, 10.0, -10.0, 20.5, -20.5,
             44.4, -44.4, 87.0, -87.0, 88.0, 88.5, -87.5, 100.0, -100.0, 1e-30, 2.5, -2.5, 6.0, -6.0]
    rand = list(rng.uniform(-9.0, 9.0, 40)) + list(rng.uniform(-90.0, 90.0, 12))
    return np.array(fixed + rand, dtype=f32)


def vectors():
    x = inputs()
    rng = np.random.default_rng(7)
    v = {"x": x, "exp32": exp32(x), "erf32": erf32(x), "gelu": gelu32(x), "sigmoid": sigmoid32(x),
         "quickgelu": quickgelu32(x)}
    ln_x = rng.normal(0.3, 2.0, 37).astype(f32)
    ln_w = rng.normal(1.0, 0.2, 37).astype(f32)
    ln_b = rng.normal(0.0, 0.2, 37).astype(f32)
    v.update(ln_x=ln_x, ln_w=ln_w, ln_b=ln_b, ln_y=layer_norm(ln_x, ln_w, ln_b, 1e-6),
             lane16_x=x[:45], lane16=np.array([lane16(x[:n]) for n in (1, 15, 16, 17, 33, 45)], f32))
    q_inv = f32(1.0 / 0.037)
    v.update(q_x=x, q_y=quantize(x, q_inv, -7).astype(np.int32))
    reqs = []
    for _ in range(24):
        acc = int(rng.integers(-2**24, 2**24))
        m = int(rng.integers(2**30, 2**31))
        sh = int(rng.integers(1, 63))
        bq = int(rng.integers(-2**20, 2**20))
        z = int(rng.integers(-128, 128))
        reqs.append((acc, m, sh, bq, z, requant(acc, m, sh, bq, z)))
    reqs.append((1000, 2**30, 12, 24, 3, requant(1000, 2**30, 12, 24, 3)))  # exact tie rounds up
    v["requant"] = reqs
    img = rng.integers(0, 256, (5, 7, 3)).astype(np.uint8)
    v.update(resize_src=img, resize_small=resize(img, 3, 4), resize_big=resize(img, 11, 13))
    v["gamma"] = [(gs, cnt, gamma_lut(gs, cnt)) for gs, cnt in ((100 * 64, 64), (30 * 999 + 17, 999), (0, 5), (250 * 7, 7))]
    gh, gw, hd = 3, 4, 8
    n = gh * gw
    att = dict(q=rng.integers(-40, 41, (n, hd)), k=rng.integers(-40, 41, (n, hd)), v=rng.integers(-128, 128, (n, hd)),
               rh=rng.integers(-127, 128, (gh, gh, hd)), rw=rng.integers(-127, 128, (gw, gw, hd)))
    att["o"] = attention_q(att["q"], att["k"], att["v"], 3, -5, 7, 0.002, 0.05, gh, gw,
                           (att["rh"], att["rw"], 0.004, 0.003))
    att["o_norel"] = attention_q(att["q"], att["k"], att["v"], 3, -5, 7, 0.002, 0.05, gh, gw)
    v["att"] = att
    v["c3p_p"] = rng.uniform(0, 1, (5, 6, 8)).astype(f32)
    v["c3p_pred"] = c3p(v["c3p_p"])
    return v


def bits(a):
    return np.asarray(a, dtype=f32).ravel().view(np.uint32)


def swift_source():
    v = vectors()
    out = ["// Generated by tests/python/test_ops_numerics.py (numpy model of docs/NUMERICS.md); do not edit.",
           "// Floats are stored as their float32 bit patterns.", "",
           "enum NumericsVectors {"]

    def u32(name, a):
        out.append(f"    static let {name}: [UInt32] = [" + ", ".join(f"0x{int(b):08x}" for b in bits(a)) + "]")

    def ints(name, a, t="Int"):
        out.append(f"    static let {name}: [{t}] = [" + ", ".join(str(int(b)) for b in np.ravel(a)) + "]")

    for k in ("x", "exp32", "erf32", "gelu", "sigmoid", "quickgelu", "ln_x", "ln_w", "ln_b", "ln_y", "lane16_x", "lane16"):
        u32(k, v[k])
    ints("q_y", v["q_y"])
    out.append("    static let requant: [(acc: Int32, m: Int32, sh: Int32, bq: Int32, z: Int32, out: Int8)] = [")
    out += [f"        ({a}, {m}, {s}, {b}, {z}, {o})," for a, m, s, b, z, o in v["requant"]]
    out.append("    ]")
    ints("resize_src", v["resize_src"], "UInt8")
    ints("resize_small", v["resize_small"], "UInt8")
    ints("resize_big", v["resize_big"], "UInt8")
    out.append("    static let gamma: [(graySum: UInt64, count: Int, lut: [UInt8])] = [")
    out += [f"        ({gs}, {c}, [" + ", ".join(map(str, lut)) + "])," for gs, c, lut in v["gamma"]]
    out.append("    ]")
    for name in ("q", "k", "v", "rh", "rw"):
        ints(f"att_{name}", v["att"][name], "Int8")
    u32("att_o", v["att"]["o"])
    u32("att_o_norel", v["att"]["o_norel"])
    u32("c3p_p", v["c3p_p"])
    u32("c3p_pred", v["c3p_pred"])
    out.append("}")
    return "\n".join(out) + "\n"


# ---- tests ----

def test_exp32_close_to_float64_over_a_dense_sweep():
    x = np.linspace(-87.0, 88.0, 400001, dtype=f32)
    ref = np.exp(x.astype(np.float64))
    rel = np.abs(exp32(x).astype(np.float64) - ref) / ref
    assert rel.max() < 4e-7
    assert exp32(f32(0.0)) == f32(1.0)


def test_erf_gelu_close_to_float64():
    x = np.linspace(-8.0, 8.0, 200001, dtype=f32)
    erf = np.array([math.erf(t) for t in x.astype(np.float64)[::10]])
    # NUMERICS 4.2: < 1.5e-7 in exact arithmetic, < 6e-7 as evaluated in fp32.
    assert np.abs(erf32(x[::10]).astype(np.float64) - erf).max() < 6e-7
    xd = x[::10].astype(np.float64)
    gelu_ref = 0.5 * xd * (1.0 + np.array([math.erf(t / math.sqrt(2.0)) for t in xd]))
    # erf's error times |x| / 2 (|x| <= 8) plus the float32 rounding of the result.
    assert np.abs(gelu32(x[::10]).astype(np.float64) - gelu_ref).max() < 4e-6


def test_lane16_matches_its_definition_and_float64():
    rng = np.random.default_rng(1)
    for n in (1, 16, 17, 100, 768):
        x = rng.normal(size=n).astype(f32)
        assert abs(float(lane16(x)) - float(x.astype(np.float64).sum())) < 1e-4


def test_requant_rounds_half_up_and_saturates():
    assert requant(3, 2**30, 32, 0, 0) == 1     # M / 2^sh = 0.25: 0.75 -> 1
    assert requant(-3, 2**30, 32, 0, 0) == -1   # -0.75 -> floor(-0.75 + 0.5) = -1
    assert requant(1, 2**30, 32, 0, 0) == 0     # 0.25 -> 0
    assert requant(2, 2**30, 32, 0, 5) == 6     # 0.5 ties round up, then + z
    assert requant(10**9, 2**30, 1, 0, 0) == 127


def test_resize_identity_and_constant():
    img = np.arange(60, dtype=np.uint8).reshape(4, 5, 3)
    assert (resize(img, 4, 5) == img).all()
    const = np.full((3, 9, 1), 77, np.uint8)
    assert (resize(const, 7, 2) == 77).all()


def test_committed_swift_vectors_match_this_generator():
    assert SWIFT_DATA.read_text() == swift_source(), "regenerate with: python tests/python/test_ops_numerics.py"


if __name__ == "__main__":
    import sys
    sys.stdout.write(swift_source())
