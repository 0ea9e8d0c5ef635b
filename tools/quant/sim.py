"""Execute a `.dsm` model file exactly as the engine does (docs/MODEL_FORMAT.md section 6, docs/NUMERICS.md).

The int8 file runs the integer path bit-exactly; the fp32 file runs the fp32 reference path. Both read only the
model file. `observer(name, kind, array)` sees every matmul input ("in") and epilogue-B output ("out") of an fp32
run (used by calibration); `record` collects named intermediates (used by the fixtures).
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from tools.convert.format import ModelFile
from tools.convert.schema import grid, levels
from tools.quant import numerics as nm
from tools.quant.numerics import F, f32
from tools.quant.prepost import normalise, postprocess, preprocess


class Sim:
    """One model file, ready to run frames."""

    def __init__(self, mf: ModelFile, observer: Optional[Callable] = None):
        self.t = mf.tensors
        self.cfg = mf.config
        self.int8 = mf.dtype == "int8"
        self.observer = observer if not self.int8 else None
        self.record: dict[str, np.ndarray] = {}

    # ------------------------------------------------------------ matmul layers
    def _zero(self, name: str) -> int:
        return int(self.t[f"{name}.in_zero"][0])

    def mm(self, x: np.ndarray, name: str, epilogue: str = "A") -> np.ndarray:
        """One matmul layer on fp32 input rows [..., K]; epilogue B returns int32 values in [-128, 127]."""
        t = self.t
        if not self.int8 or t[f"{name}.weight"].dtype != np.int8:
            if self.observer:
                self.observer(name, "in", x)
            y = nm.mm32(x, t[f"{name}.weight"].T) + t[f"{name}.bias"]
            if self.observer and epilogue == "B":
                self.observer(name, "out", y)
            return y.astype(np.float32)
        xq = nm.quantize(x, t[f"{name}.in_inv_s"][0], t[f"{name}.in_zero"][0])
        return self.mm_q(xq, name, epilogue)

    def mm_q(self, xq: np.ndarray, name: str, epilogue: str = "A") -> np.ndarray:
        t = self.t
        acc = nm.int_matmul(xq, self._zero(name), t[f"{name}.weight"])
        if epilogue == "A":
            return nm.epilogue_a(acc, t[f"{name}.m"], t[f"{name}.bias"])
        return nm.epilogue_b(acc, t[f"{name}.mult"], t[f"{name}.shift"], t[f"{name}.bias_q"],
                             t[f"{name}.out_zero"])

    def mlp(self, x: np.ndarray, fc1: str, fc2: str, act) -> np.ndarray:
        """fc2(act(fc1(x))). int8: fc1 requantizes (epilogue B) and the activation is a 256-entry table that
        also quantizes for fc2 (NUMERICS 3.5); fp32: the activation on fp32 values."""
        t = self.t
        q1, q2 = (self.int8 and t[f"{n}.weight"].dtype == np.int8 for n in (fc1, fc2))
        h = self.mm(x, fc1, "B")
        if q1 and q2:
            table = nm.activation_table(act, t[f"{fc1}.out_scale"][0], t[f"{fc1}.out_zero"][0],
                                        t[f"{fc2}.in_inv_s"][0], t[f"{fc2}.in_zero"][0])
            return self.mm_q(table[h + 128], fc2)
        if q1:      # fc2 restored to fp32 (tools.quant.sensitivity): fc1's int8 output back to real values
            h = F(t[f"{fc1}.out_scale"][0]) * (h - np.int32(t[f"{fc1}.out_zero"][0])).astype(np.float32)
        return self.mm(act(h), fc2)

    def conv(self, x: np.ndarray, name: str, dil: int = 1) -> np.ndarray:
        """3x3 conv, padding = dilation, on an [H, W, C] map (im2col column (ky*3+kx)*C + ci)."""
        H, W, C = x.shape
        q8 = self.int8 and self.t[f"{name}.weight"].dtype == np.int8
        if q8:
            q = nm.quantize(x, self.t[f"{name}.in_inv_s"][0], self.t[f"{name}.in_zero"][0])
            pad = np.full((H + 2 * dil, W + 2 * dil, C), self._zero(name), np.int32)
            pad[dil:dil + H, dil:dil + W] = q
        else:
            if self.observer:
                self.observer(name, "in", x)
            pad = np.zeros((H + 2 * dil, W + 2 * dil, C), np.float32)
            pad[dil:dil + H, dil:dil + W] = x
        cols = np.concatenate([pad[ky * dil:ky * dil + H, kx * dil:kx * dil + W]
                               for ky in range(3) for kx in range(3)], axis=-1)
        if q8:
            return self.mm_q(cols, name)
        return nm.mm32(cols, self.t[f"{name}.weight"].T) + self.t[f"{name}.bias"]

    def convt2(self, x: np.ndarray, name: str) -> np.ndarray:
        """ConvTranspose 2x2 stride 2: rows (dy*2+dx)*Cout + co."""
        H, W, _ = x.shape
        y = self.mm(x, name)
        co = y.shape[-1] // 4
        return y.reshape(H, W, 2, 2, co).transpose(0, 2, 1, 3, 4).reshape(2 * H, 2 * W, co)

    def ln(self, x: np.ndarray, name: str, eps_key: str) -> np.ndarray:
        return nm.layernorm(x, self.t[f"{name}.weight"], self.t[f"{name}.bias"], self.cfg[eps_key])

    # ------------------------------------------------------------ attention
    def attention(self, q, k, v, name: str, heads: int, hd: int, rel_n: int = 0) -> np.ndarray:
        """q, k, v: [U, n, heads*hd] (int8 values as int32, or fp32). Returns fp32 [U, nq, heads*hd]."""
        t = self.t
        outs = []
        if rel_n:
            Rh, Rw = t[f"{name}.rel_h"], t[f"{name}.rel_w"]
        for h in range(heads):
            sl = slice(h * hd, (h + 1) * hd)
            if self.int8:
                qh = q[..., sl].astype(np.float64) - float(t[f"{name}.q_zero"][0])
                kh = k[..., sl].astype(np.float64) - float(t[f"{name}.k_zero"][0])
                vh = v[..., sl].astype(np.float64) - float(t[f"{name}.v_zero"][0])
                l = (qh @ kh.transpose(0, 2, 1)).astype(np.float32) * t[f"{name}.logit_scale"][0]
            else:
                qh, kh, vh = q[..., sl], k[..., sl], v[..., sl]
                l = nm.mm32(qh * t[f"{name}.scale"][0], kh.transpose(0, 2, 1))
            if rel_n:
                U, n = qh.shape[0], rel_n
                q4 = qh.reshape(U, n, n, hd)
                relh = np.einsum("uabc,akc->uabk", q4.astype(np.float64), Rh.astype(np.float64))
                relw = np.einsum("uabc,bkc->uabk", q4.astype(np.float64), Rw.astype(np.float64))
                if self.int8:
                    relh = relh.astype(np.float32) * t[f"{name}.rel_h_scale"][0]
                    relw = relw.astype(np.float32) * t[f"{name}.rel_w_scale"][0]
                l5 = l.reshape(U, n, n, n, n)
                l5 = (l5 + relh[:, :, :, :, None].astype(np.float32)) + relw[:, :, :, None, :].astype(np.float32)
                l = l5.reshape(U, n * n, n * n)
            if self.int8:
                e = nm.numerator_exp(l - l.max(axis=-1, keepdims=True))
                P = np.rint(e * F(255.0))
                Z = P.sum(axis=-1, keepdims=True)
                Av = P @ vh
                o = (Av.astype(np.float32) * t[f"{name}.v_scale"][0]) / Z.astype(np.float32)
            else:
                o = nm.mm32(nm.softmax32(l), vh)
            outs.append(o.astype(np.float32))
        return np.concatenate(outs, axis=-1)

    def _qkv_split(self, y: np.ndarray, A: int):
        return y[..., :A], y[..., A:2 * A], y[..., 2 * A:]

    # ------------------------------------------------------------ blocks
    def enc_block(self, x: np.ndarray, i: int, br: str) -> np.ndarray:
        c = self.cfg
        G, w, D = grid(c), c["window_size"], c["embed_dim"]
        A, p = c["num_heads"] * c["head_dim"], f"enc.blocks.{i}"
        h = self.ln(x, f"{p}.norm1", "ln_eps_encoder")
        if i in c["global_attn_indexes"]:
            units, n = h[None], G
        else:
            n, Gp = w, -(-G // w) * w
            m = np.zeros((Gp, Gp, D), np.float32)
            m[:G, :G] = h.reshape(G, G, D)
            nw = Gp // w
            units = m.reshape(nw, w, nw, w, D).transpose(0, 2, 1, 3, 4).reshape(nw * nw, w * w, D)
        qkv = self.mm(units, f"{p}.attn.qkv", "B")
        q, k, v = self._qkv_split(qkv, A)
        o = self.attention(q, k, v, f"{p}.attn", c["num_heads"], c["head_dim"], rel_n=n)
        if i in c["global_attn_indexes"]:
            o = o[0]
        else:
            o = o.reshape(nw, nw, w, w, A).transpose(0, 2, 1, 3, 4).reshape(Gp, Gp, A)[:G, :G].reshape(G * G, A)
        if br == "a" and i < 2:     # debugging aids for the engine: one window block and one global block
            self.record[f"{p}.attn.qkv.a"] = qkv.astype(np.int8) if self.int8 else qkv
            self.record[f"{p}.attn.o.a"] = o
        x = x + self.mm(o, f"{p}.attn.proj")
        y = self.mlp(self.ln(x, f"{p}.norm2", "ln_eps_encoder"), f"{p}.mlp.fc1", f"{p}.mlp.fc2", nm.gelu)
        a = f"enc.adapters.{br}.{i}"
        ad = y + self.mlp(self.ln(y, f"{a}.norm", "ln_eps_adapter"), f"{a}.fc1", f"{a}.fc2", nm.quickgelu)
        return x + ad

    def mcp_block(self, P, xa, xb, j: int):
        c = self.cfg
        p = f"mcp.blocks.{j}"
        Am, Ac = c["mcp_heads"] * c["mcp_head_dim"], c["ca_heads"] * c["ca_head_dim"]
        T = P.shape[0]
        q, k, v = self._qkv_split(self.mm(self.ln(P, f"{p}.norm1", "ln_eps_mcp")[None], f"{p}.attn.qkv", "B"), Am)
        o = self.attention(q, k, v, f"{p}.attn", c["mcp_heads"], c["mcp_head_dim"])[0]
        t = P + self.mm(o, f"{p}.attn.proj")
        t = t + self.mlp(self.ln(t, f"{p}.norm2", "ln_eps_mcp"), f"{p}.mlp2.fc1", f"{p}.mlp2.fc2", nm.gelu)
        qc = self.mm(self.ln(xa, f"{p}.norm1", "ln_eps_mcp")[None], f"{p}.cross.q", "B")
        kc = self.mm(self.ln(xb, f"{p}.norm1", "ln_eps_mcp")[None], f"{p}.cross.k", "B")
        vin = self.ln(t, f"{p}.norm1", "ln_eps_mcp")
        if c["ca_value_scramble"]:
            vin = np.ascontiguousarray(vin).reshape(-1).reshape(vin.shape[1], T).T
        vc = self.mm(np.ascontiguousarray(vin)[None], f"{p}.cross.v", "B")
        o = self.attention(qc, kc, vc, f"{p}.cross", c["ca_heads"], c["ca_head_dim"])[0]
        assert o.shape[-1] == Ac
        u = t + self.mm(o, f"{p}.cross.proj")
        u = u + self.mlp(self.ln(u, f"{p}.norm2", "ln_eps_mcp"), f"{p}.mlp.fc1", f"{p}.mlp.fc2", nm.gelu)
        e = xb + self.t[f"{p}.gate"][0] * nm.gelu(self.mm(u, f"{p}.pw"))
        return t, e

    def conv_up(self, z, name):
        return nm.gelu(self.conv(self.convt2(z, f"{name}.ct"), f"{name}.conv"))

    def dfam(self, x, name):
        s = f"{name}.se"
        y = nm.gelu(self.mm(x, f"{name}.pw1"))
        y = nm.channel_attention(y, self.t[f"{s}.fc1.weight"], self.t[f"{s}.fc1.bias"],
                                 self.t[f"{s}.fc2.weight"], self.t[f"{s}.fc2.bias"])
        return nm.gelu(self.conv(y, f"{name}.pw2", dil=2))

    # ------------------------------------------------------------ whole graph
    def patches(self, n: np.ndarray) -> np.ndarray:
        p = self.cfg["patch_size"]
        G = grid(self.cfg)
        return n.reshape(G, p, G, p, 3).transpose(0, 2, 1, 3, 4).reshape(G * G, p * p * 3)

    def run_normalised(self, na: np.ndarray, nb: np.ndarray) -> np.ndarray:
        """Logits [S, S, num_out] from the normalised fp32 inputs (both [S, S, 3])."""
        c, rec = self.cfg, self.record
        G, D = grid(c), c["embed_dim"]
        xa = self.mm(self.patches(na), "enc.patch_embed") + self.t["enc.pos_embed"]
        xb = self.mm(self.patches(nb), "enc.patch_embed") + self.t["enc.pos_embed"]
        P = self.mm(self.patches(na + nb), "mcp.patch_embed") + self.t["mcp.pos_embed"]
        rec["enc.patch_embed.a"], rec["enc.patch_embed.b"], rec["mcp.patch_embed"] = xa, xb, P
        lv = levels(c)
        E = []
        for i in range(c["depth"]):
            xa = self.enc_block(xa, i, "a")
            xb = self.enc_block(xb, i, "b")
            rec[f"enc.blocks.{i}.a"], rec[f"enc.blocks.{i}.b"] = xa, xb
            if i in lv:
                j = lv.index(i)
                P, e = self.mcp_block(P, xa, xb, j)
                rec[f"mcp.blocks.{j}.prompt"], rec[f"mcp.blocks.{j}.e"] = P, e
                E.append(e.reshape(G, G, D))
        s = nm.layernorm(self.mm(xa, "enc.neck.conv1"), self.t["enc.neck.ln1.weight"],
                         self.t["enc.neck.ln1.bias"], c["ln_eps_encoder"]).reshape(G, G, -1)
        src = nm.layernorm(self.conv(s, "enc.neck.conv2"), self.t["enc.neck.ln2.weight"],
                           self.t["enc.neck.ln2.bias"], c["ln_eps_encoder"])
        rec["neck"] = src
        d = {3: nm.gelu(self.conv(self.mm(E[3], "dec.lev3.ct"), "dec.lev3.conv"))}
        for j in (2, 1, 0):
            z = E[j]
            for u in range(3 - j):
                z = self.conv_up(z, f"dec.lev{j}.{u}")
            d[j] = z
        for j in range(4):
            rec[f"dec.lev{j}"] = d[j]
        z = src
        for n, j in zip((1, 2, 3, 4), (3, 2, 1, 0)):
            f = self.dfam(np.concatenate([z, d[j]], axis=-1), f"dec.fu{n}")
            rec[f"dec.fu{n}"] = f
            if n < 4:
                z = self.conv_up(f, f"dec.up{n}")
                rec[f"dec.up{n}"] = z
        logits = self.convt2(f, "dec.pre4")
        rec["logits"] = logits
        return logits

    def run(self, rgb: np.ndarray) -> dict[str, np.ndarray]:
        """Full frame -> {logits, prob, pred, map8, mask} plus self.record."""
        S = self.cfg["img_size"]
        ua, ub, lut = preprocess(rgb, S)
        self.record = {"pre.lut": lut, "pre.u_a": ua, "pre.u_b": ub}
        mean, std = self.t["pre.mean"], self.t["pre.std"]
        logits = self.run_normalised(normalise(ua, mean, std), normalise(ub, mean, std))
        out = postprocess(logits)
        self.record.update(out)
        return dict(out, logits=logits)
