"""The tensor set a model file must hold for its config and dtype (docs/MODEL_FORMAT.md section 5)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LN_EPS = {"ln_eps_encoder": 1e-6, "ln_eps_adapter": 1e-5, "ln_eps_mcp": 1e-5}
CONFIG_KEYS = ("name", "img_size", "patch_size", "embed_dim", "depth", "num_heads", "head_dim", "mlp_dim",
               "window_size", "global_attn_indexes", "adapter_dim", "mcp_heads", "mcp_head_dim", "mcp_mlp_dim",
               "mcp_mlp2_dim", "ca_heads", "ca_head_dim", "ca_value_scramble", "neck_dim", "dec_channels",
               "se_hidden", "num_out") + tuple(LN_EPS)


@dataclass(frozen=True)
class Layer:
    """One matmul layer: weight [O, K]; `epilogue` is "A" or "B" in the int8 file; `quant` False = always fp32."""

    name: str
    O: int
    K: int
    epilogue: str = "A"
    quant: bool = True


def grid(cfg: dict) -> int:
    return cfg["img_size"] // cfg["patch_size"]


def levels(cfg: dict) -> list[int]:
    step = cfg["depth"] // 4
    return [step * (j + 1) - 1 for j in range(4)]


def layers(cfg: dict) -> list[Layer]:
    """Every matmul layer of the inference path, in execution order (int8 quantized unless quant=False)."""
    D, p = cfg["embed_dim"], cfg["patch_size"]
    A = cfg["num_heads"] * cfg["head_dim"]
    Am = cfg["mcp_heads"] * cfg["mcp_head_dim"]
    Ac = cfg["ca_heads"] * cfg["ca_head_dim"]
    N = cfg["neck_dim"]
    c1, c2, c3, c4 = cfg["dec_channels"]
    out = [Layer("enc.patch_embed", D, p * p * 3), Layer("mcp.patch_embed", D, p * p * 3)]
    for i in range(cfg["depth"]):
        b = f"enc.blocks.{i}"
        out += [Layer(f"{b}.attn.qkv", 3 * A, D, "B"), Layer(f"{b}.attn.proj", D, A),
                Layer(f"{b}.mlp.fc1", cfg["mlp_dim"], D, "B"), Layer(f"{b}.mlp.fc2", D, cfg["mlp_dim"])]
        for br in "ab":
            a = f"enc.adapters.{br}.{i}"
            out += [Layer(f"{a}.fc1", cfg["adapter_dim"], D, "B"), Layer(f"{a}.fc2", D, cfg["adapter_dim"])]
    for j in range(4):
        b = f"mcp.blocks.{j}"
        out += [Layer(f"{b}.attn.qkv", 3 * Am, D, "B"), Layer(f"{b}.attn.proj", D, Am),
                Layer(f"{b}.mlp2.fc1", cfg["mcp_mlp2_dim"], D, "B"), Layer(f"{b}.mlp2.fc2", D, cfg["mcp_mlp2_dim"]),
                Layer(f"{b}.cross.q", Ac, D, "B"), Layer(f"{b}.cross.k", Ac, D, "B"),
                Layer(f"{b}.cross.v", Ac, D, "B"), Layer(f"{b}.cross.proj", D, Ac),
                Layer(f"{b}.mlp.fc1", cfg["mcp_mlp_dim"], D, "B"), Layer(f"{b}.mlp.fc2", D, cfg["mcp_mlp_dim"]),
                Layer(f"{b}.pw", D, D)]
    out += [Layer("enc.neck.conv1", N, D), Layer("enc.neck.conv2", N, 9 * N)]
    out += [Layer("dec.lev3.ct", c1, D), Layer("dec.lev3.conv", c1, 9 * c1)]
    for j in (2, 1, 0):
        cin = D
        for u, cout in enumerate((c2, c3, c4)[: 3 - j]):
            out += [Layer(f"dec.lev{j}.{u}.ct", 4 * cout, cin), Layer(f"dec.lev{j}.{u}.conv", cout, 9 * cout)]
            cin = cout
    prev = N
    for n, (c, h) in enumerate(zip((c1, c2, c3, c4), cfg["se_hidden"]), start=1):
        f = f"dec.fu{n}"
        out += [Layer(f"{f}.pw1", c, prev + c), Layer(f"{f}.se.fc1", h, c, quant=False),
                Layer(f"{f}.se.fc2", c, h, quant=False), Layer(f"{f}.pw2", c, 9 * c)]
        if n < 4:
            out += [Layer(f"dec.up{n}.ct", 4 * c, c), Layer(f"dec.up{n}.conv", c, 9 * c)]
        prev = c
    out.append(Layer("dec.pre4", 4 * cfg["num_out"], c4))
    return out


def layernorms(cfg: dict) -> dict[str, int]:
    D, N = cfg["embed_dim"], cfg["neck_dim"]
    out = {}
    for i in range(cfg["depth"]):
        out[f"enc.blocks.{i}.norm1"] = D
        out[f"enc.blocks.{i}.norm2"] = D
        for br in "ab":
            out[f"enc.adapters.{br}.{i}.norm"] = D
    for j in range(4):
        out[f"mcp.blocks.{j}.norm1"] = D
        out[f"mcp.blocks.{j}.norm2"] = D
    out["enc.neck.ln1"] = N
    out["enc.neck.ln2"] = N
    return out


def attentions(cfg: dict) -> dict[str, tuple[int, int]]:
    """Attention constant groups -> (rel-pos side n or 0 for none, head_dim)."""
    G, w = grid(cfg), cfg["window_size"]
    out = {}
    for i in range(cfg["depth"]):
        n = G if i in cfg["global_attn_indexes"] else w
        out[f"enc.blocks.{i}.attn"] = (n, cfg["head_dim"])
    for j in range(4):
        out[f"mcp.blocks.{j}.attn"] = (0, cfg["mcp_head_dim"])
        out[f"mcp.blocks.{j}.cross"] = (0, cfg["ca_head_dim"])
    return out


def expected_tensors(cfg: dict, dtype: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """name -> (safetensors dtype, shape) of every tensor a file of this config and dtype must hold."""
    G, D = grid(cfg), cfg["embed_dim"]
    e: dict[str, tuple[str, tuple[int, ...]]] = {"pre.mean": ("F32", (3,)), "pre.std": ("F32", (3,)),
                                                 "enc.pos_embed": ("F32", (G * G, D)),
                                                 "mcp.pos_embed": ("F32", (G * G, D))}
    for j in range(4):
        e[f"mcp.blocks.{j}.gate"] = ("F32", (1,))
    for name, c in layernorms(cfg).items():
        e[f"{name}.weight"] = ("F32", (c,))
        e[f"{name}.bias"] = ("F32", (c,))
    for L in layers(cfg):
        if dtype == "fp32" or not L.quant:
            e[f"{L.name}.weight"] = ("F32", (L.O, L.K))
            e[f"{L.name}.bias"] = ("F32", (L.O,))
            continue
        e[f"{L.name}.weight"] = ("I8", (L.O, L.K))
        e[f"{L.name}.w_scale"] = ("F32", (L.O,))
        e[f"{L.name}.in_inv_s"] = ("F32", (1,))
        e[f"{L.name}.in_zero"] = ("I32", (1,))
        e[f"{L.name}.in_scale"] = ("F32", (1,))
        if L.epilogue == "A":
            e[f"{L.name}.m"] = ("F32", (L.O,))
            e[f"{L.name}.bias"] = ("F32", (L.O,))
        else:
            for s in ("mult", "shift", "bias_q", "out_zero"):
                e[f"{L.name}.{s}"] = ("I32", (L.O,))
            e[f"{L.name}.out_scale"] = ("F32", (L.O,))
    for name, (n, hd) in attentions(cfg).items():
        if dtype == "fp32":
            e[f"{name}.scale"] = ("F32", (1,))
            if n:
                e[f"{name}.rel_h"] = ("F32", (n, n, hd))
                e[f"{name}.rel_w"] = ("F32", (n, n, hd))
        else:
            e[f"{name}.logit_scale"] = ("F32", (1,))
            e[f"{name}.v_scale"] = ("F32", (1,))
            for z in ("q_zero", "k_zero", "v_zero"):
                e[f"{name}.{z}"] = ("I32", (1,))
            if n:
                e[f"{name}.rel_h"] = ("I8", (n, n, hd))
                e[f"{name}.rel_w"] = ("I8", (n, n, hd))
                e[f"{name}.rel_h_scale"] = ("F32", (1,))
                e[f"{name}.rel_w_scale"] = ("F32", (1,))
    return e


_NP = {"F32": np.float32, "I8": np.int8, "I32": np.int32}


def validate_model(mf) -> None:
    """Check config keys, the tensor set (names, dtypes, shapes) and quantization-constant ranges."""
    from tools.convert.format import ModelFormatError

    cfg = mf.config
    missing = [k for k in CONFIG_KEYS if k not in cfg]
    if missing:
        raise ModelFormatError(f"config is missing keys: {', '.join(missing)}")
    if cfg["img_size"] % cfg["patch_size"] or cfg["depth"] % 4 or cfg["depth"] < 4:
        raise ModelFormatError("config: img_size must be a multiple of patch_size and depth a multiple of 4")
    want = expected_tensors(cfg, mf.dtype)
    have = mf.tensors
    for name, (dt, shape) in want.items():
        if name not in have:
            raise ModelFormatError(f"required tensor {name!r} missing")
        a = have[name]
        if a.dtype != np.dtype(_NP[dt]).newbyteorder("<") and a.dtype != np.dtype(_NP[dt]):
            raise ModelFormatError(f"tensor {name!r}: dtype {a.dtype} but {dt} expected")
        if tuple(a.shape) != shape:
            raise ModelFormatError(f"tensor {name!r}: shape {list(a.shape)} but {list(shape)} expected "
                                   f"(does not match the config)")
    extra = sorted(set(have) - set(want))
    if extra:
        raise ModelFormatError(f"unexpected tensor {extra[0]!r} for this config and dtype")
    if mf.dtype != "int8":
        return
    for name, a in have.items():
        suffix = name.rsplit(".", 1)[1]
        if suffix in ("in_zero", "out_zero", "q_zero", "k_zero", "v_zero") and (a.min() < -128 or a.max() > 127):
            raise ModelFormatError(f"tensor {name!r}: zero point outside [-128, 127]")
        if suffix == "weight" and a.dtype == np.int8 and a.size and a.min() < -127:
            raise ModelFormatError(f"tensor {name!r}: int8 weight -128 (weights are in [-127, 127])")
        if suffix == "mult" and np.any((a != 0) & ((a < (1 << 30)))):
            raise ModelFormatError(f"tensor {name!r}: multiplier outside [2^30, 2^31) and not 0")
        if suffix == "shift" and a.size and (a.min() < 1 or a.max() > 62):
            raise ModelFormatError(f"tensor {name!r}: shift outside [1, 62]")
    # NUMERICS 3.5: an fc1 feeds fc2 through one activation table, so its output scale and zero are one value.
    for layer in layers(cfg):
        if not layer.name.endswith(".fc1") or layer.epilogue != "B":
            continue
        for suffix, bits in (("out_scale", np.uint32), ("out_zero", np.int32)):
            name = f"{layer.name}.{suffix}"
            a = np.ascontiguousarray(have[name]).view(bits)
            if a.size and np.any(a != a.reshape(-1)[0]):
                raise ModelFormatError(f"tensor {name!r}: an fc1's output scale and zero must be the same for every "
                                       f"row (NUMERICS 3.5: one activation table per layer)")
