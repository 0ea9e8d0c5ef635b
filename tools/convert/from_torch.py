"""Reference model (tools/dualsam) -> fp32 tensors in file naming: LoRA merged, BN and pre4 folded."""
from __future__ import annotations

import copy

import numpy as np

from tools.convert.fold import conv_hwc, convt2, expand_rel_pos, finish_fp32, fold_bn, fold_convt_1x1
from tools.convert.schema import grid
from tools.quant.prepost import MEAN, STD


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy()


def _linear(out, name, lin):
    out[f"{name}.weight"] = _np(lin.weight)
    out[f"{name}.bias"] = _np(lin.bias) if lin.bias is not None else np.zeros(lin.weight.shape[0])


def _ln(out, name, ln):
    out[f"{name}.weight"] = _np(ln.weight)
    out[f"{name}.bias"] = _np(ln.bias)


def _convbn(out, name, cb):
    """ConvBN (conv without bias -> BatchNorm2d; GELU applied by the graph) -> folded HWC matmul."""
    bn = cb.bn
    w, b = fold_bn(_np(cb.conv.weight), None, _np(bn.weight), _np(bn.bias), _np(bn.running_mean),
                   _np(bn.running_var), bn.eps)
    out[f"{name}.weight"] = conv_hwc(w)
    out[f"{name}.bias"] = b


def _convup(out, name, cu, k2=True):
    if k2:
        out[f"{name}.ct.weight"], out[f"{name}.ct.bias"] = convt2(_np(cu.conv_up.weight), _np(cu.conv_up.bias))
    else:   # ConvT 1x1 stride 1: [Cin, Cout, 1, 1] -> [Cout, Cin]
        out[f"{name}.ct.weight"] = _np(cu.conv_up.weight)[:, :, 0, 0].T
        out[f"{name}.ct.bias"] = _np(cu.conv_up.bias)
    _convbn(out, f"{name}.conv", cu.conv_fu)


def config_dict(model) -> dict:
    return model.cfg.to_dict()


def fp32_tensors(model) -> dict[str, np.ndarray]:
    """Every tensor of the fp32 file for a reference `DualSam` (LoRA merged on a copy; the model is untouched)."""
    m = copy.deepcopy(model).eval()
    m.merge_lora()
    cfg = config_dict(m)
    G = grid(cfg)
    enc, mcp, dec = m.image_encoder, m.global_adapter, m.desam
    out: dict[str, np.ndarray] = {"pre.mean": MEAN, "pre.std": STD}
    for name, pe, pos in (("enc", enc.patch_embed, enc.pos_embed), ("mcp", mcp.patch_embed, mcp.pos_embed)):
        out[f"{name}.patch_embed.weight"] = conv_hwc(_np(pe.proj.weight))
        out[f"{name}.patch_embed.bias"] = _np(pe.proj.bias)
        out[f"{name}.pos_embed"] = _np(pos).reshape(G * G, -1)
    for i, blk in enumerate(enc.blocks):
        b = f"enc.blocks.{i}"
        _ln(out, f"{b}.norm1", blk.norm1)
        _ln(out, f"{b}.norm2", blk.norm2)
        _linear(out, f"{b}.attn.qkv", blk.attn.qkv)
        _linear(out, f"{b}.attn.proj", blk.attn.proj)
        _linear(out, f"{b}.mlp.fc1", blk.mlp.lin1)
        _linear(out, f"{b}.mlp.fc2", blk.mlp.lin2)
        n = G if i in cfg["global_attn_indexes"] else cfg["window_size"]
        out[f"{b}.attn.scale"] = np.array([blk.attn.scale])
        out[f"{b}.attn.rel_h"] = expand_rel_pos(_np(blk.attn.rel_pos_h), n)
        out[f"{b}.attn.rel_w"] = expand_rel_pos(_np(blk.attn.rel_pos_w), n)
        for br, ads in (("a", m.adapter1), ("b", m.adapter2)):
            a = f"enc.adapters.{br}.{i}"
            _ln(out, f"{a}.norm", ads[i].IN)
            _linear(out, f"{a}.fc1", ads[i].fc[0])
            _linear(out, f"{a}.fc2", ads[i].fc[2])
    neck = enc.neck
    out["enc.neck.conv1.weight"] = conv_hwc(_np(neck[0].weight))
    out["enc.neck.conv1.bias"] = np.zeros(neck[0].weight.shape[0])
    _ln(out, "enc.neck.ln1", neck[1])
    out["enc.neck.conv2.weight"] = conv_hwc(_np(neck[2].weight))
    out["enc.neck.conv2.bias"] = np.zeros(neck[2].weight.shape[0])
    _ln(out, "enc.neck.ln2", neck[3])
    for j, blk in enumerate(mcp.blocks):
        b = f"mcp.blocks.{j}"
        _ln(out, f"{b}.norm1", blk.norm1)
        _ln(out, f"{b}.norm2", blk.norm2)
        _linear(out, f"{b}.attn.qkv", blk.attn.qkv)
        _linear(out, f"{b}.attn.proj", blk.attn.proj)
        out[f"{b}.attn.scale"] = np.array([blk.attn.scale])
        _linear(out, f"{b}.mlp2.fc1", blk.mlp2.lin1)
        _linear(out, f"{b}.mlp2.fc2", blk.mlp2.lin2)
        _linear(out, f"{b}.mlp.fc1", blk.mlp.lin1)
        _linear(out, f"{b}.mlp.fc2", blk.mlp.lin2)
        _linear(out, f"{b}.cross.q", blk.CA.linear_q)
        _linear(out, f"{b}.cross.k", blk.CA.linear_k)
        _linear(out, f"{b}.cross.v", blk.CA.linear_v)
        _linear(out, f"{b}.cross.proj", blk.CA.linear_output)
        out[f"{b}.cross.scale"] = np.array([blk.CA.h_size ** -0.5])
        _convbn(out, f"{b}.pw", blk.pw2)
        out[f"{b}.gate"] = _np(mcp.gated1[j:j + 1])
    _convup(out, "dec.lev3", dec.de12, k2=False)
    _convup(out, "dec.lev2.0", dec.de9)
    for j, seq in ((1, dec.de6), (0, dec.de3)):
        for u, cu in enumerate(seq):
            _convup(out, f"dec.lev{j}.{u}", cu)
    for n in (1, 2, 3, 4):
        fu = getattr(dec, f"fu{n}")
        f = f"dec.fu{n}"
        _convbn(out, f"{f}.pw1", fu.pw1)
        _convbn(out, f"{f}.pw2", fu.pw2)
        fc1, fc2 = fu.se.fc[0], fu.se.fc[2]
        out[f"{f}.se.fc1.weight"] = _np(fc1.weight)[:, :, 0, 0]
        out[f"{f}.se.fc1.bias"] = _np(fc1.bias)
        out[f"{f}.se.fc2.weight"] = _np(fc2.weight)[:, :, 0, 0]
        out[f"{f}.se.fc2.bias"] = _np(fc2.bias)
        if n < 4:
            _convup(out, f"dec.up{n}", getattr(dec, f"up{n}"))
    ct, pre = dec.pre4[0], dec.pre4[1].pre
    w, b = fold_convt_1x1(_np(ct.weight), _np(ct.bias), _np(pre.weight), _np(pre.bias))
    out["dec.pre4.weight"], out["dec.pre4.bias"] = convt2(w, b)
    return finish_fp32(out)
