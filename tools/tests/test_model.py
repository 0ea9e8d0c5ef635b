"""Reference Dual-SAM: shapes, inference path, LoRA merge, window attention, cross-wiring, C3P."""
import math

import pytest
import torch
import torch.nn.functional as F

from tools.dualsam.c3p import PARTNER_OFFSETS, c3p_vote, decode_logits, sal2conn, to_u8_map
from tools.dualsam.configs import MICRO, TINY, DualSamConfig
from tools.dualsam.encoder import window_partition, window_unpartition
from tools.dualsam.mcp import MultiCrossAttention
from tools.dualsam.model import build

torch.set_num_threads(1)

def _inputs(cfg, seed=1, batch=1):
    g = torch.Generator().manual_seed(seed)
    s = cfg.img_size
    return torch.randn(batch, 3, s, s, generator=g), torch.randn(batch, 3, s, s, generator=g)


def test_tiny_forward_shapes_and_inference_path_match():
    m = build(TINY, seed=0, random_stats=True)
    a, b = _inputs(TINY)
    with torch.no_grad():
        ori, gam = m(a, b)
        logits = m.forward_infer(a, b)
    s = TINY.img_size
    assert [tuple(t.shape) for t in ori] == [(1, 8, s, s), (1, 8, s // 2, s // 2), (1, 8, s // 4, s // 4),
                                            (1, 8, s // 8, s // 8)]
    assert [tuple(t.shape) for t in gam] == [tuple(t.shape) for t in ori]
    assert torch.equal(logits, ori[0])
    assert not torch.equal(ori[0], gam[0])


def test_predict_returns_map_and_mask():
    m = build(MICRO, seed=0, random_stats=True)
    a, b = _inputs(MICRO)
    trace = {}
    logits, pred, g, mask = m.predict(a, b, trace=trace)
    assert pred.shape == (1, 1, 96, 96) and mask.dtype == torch.bool
    assert float(pred.min()) >= 0 and float(pred.max()) <= 1
    assert torch.equal(mask, g > 65)
    for k in ("alpha.embed", "beta.block3", "mcp0.prompt3", "mcp3.p", "neck", "ori.F4", "logits", "prob"):
        assert k in trace
    assert "mcp0.prompt2" not in trace  # pw1 is not on the inference path


def test_batch_is_independent():
    m = build(MICRO, seed=0, random_stats=True)
    a, b = _inputs(MICRO, batch=2)
    with torch.no_grad():
        both = m.forward_infer(a, b)
        one = m.forward_infer(a[1:], b[1:])
    torch.testing.assert_close(both[1:], one, atol=1e-5, rtol=1e-5)


def test_lora_merge_is_exact_up_to_rounding():
    m = build(MICRO, seed=0, random_stats=True)
    a, b = _inputs(MICRO)
    with torch.no_grad():
        before = m.forward_infer(a, b)
        m.merge_lora()
        after = m.forward_infer(a, b)
    assert all(blk.attn.lora is None for blk in m.image_encoder.blocks)
    assert not any("lora" in k for k in m.state_dict())
    torch.testing.assert_close(after, before, atol=1e-4, rtol=1e-4)


def test_lora_changes_output():
    m = build(MICRO, seed=0, random_stats=True)
    a, b = _inputs(MICRO)
    with torch.no_grad():
        before = m.forward_infer(a, b)
        m.image_encoder.blocks[0].attn.lora.linear_b_v.weight.mul_(10)
        assert not torch.allclose(m.forward_infer(a, b), before)


def test_padded_window_attention_has_no_mask():
    """Window block output equals an explicit per-window computation in which the zero-padded tokens are
    keys/values (with the qkv bias), not masked."""
    torch.manual_seed(3)
    m = build(MICRO, seed=3, random_stats=True).merge_lora()
    blk = m.image_encoder.blocks[0]
    assert blk.window_size == 4
    x = torch.randn(1, 6, 6, 32)
    with torch.no_grad():
        got = blk.attn(window_partition(blk.norm1(x), 4)[0])
        xn = F.pad(blk.norm1(x), (0, 0, 0, 2, 0, 2))  # 8x8
        attn = blk.attn
        for wi in range(4):
            r0, c0 = 4 * (wi // 2), 4 * (wi % 2)
            tok = xn[0, r0:r0 + 4, c0:c0 + 4].reshape(16, 32)
            qkv = tok @ attn.qkv.weight.T + attn.qkv.bias
            out = torch.zeros(16, 32)
            heads = []
            for h in range(2):
                q = qkv[:, h * 16:(h + 1) * 16]
                k = qkv[:, 32 + h * 16:32 + (h + 1) * 16]
                v = qkv[:, 64 + h * 16:64 + (h + 1) * 16]
                logits = (q * 0.25) @ k.T
                for i in range(16):
                    for j in range(16):
                        qi, qj, ki, kj = i // 4, i % 4, j // 4, j % 4
                        logits[i, j] += q[i] @ attn.rel_pos_h[qi - ki + 3] + q[i] @ attn.rel_pos_w[qj - kj + 3]
                heads.append(torch.softmax(logits, -1) @ v)
            out = torch.cat(heads, -1) @ attn.proj.weight.T + attn.proj.bias
            torch.testing.assert_close(got[wi].reshape(16, 32), out, atol=1e-5, rtol=1e-4)


def test_window_partition_roundtrip_crops_padding():
    x = torch.randn(2, 6, 5, 3)
    w, pad = window_partition(x, 4)
    assert w.shape == (2 * 2 * 2, 4, 4, 3) and pad == (8, 8)
    assert torch.equal(window_unpartition(w, 4, pad, (6, 5)), x)


def test_cross_attention_value_scramble_matches_official_views():
    """q/k come from B,H,W,C tensors permuted to B,C,H,W and viewed as (B,C,N); v from the UNpermuted
    B,H,W,C tensor viewed as (B,C,N), as in the official Multi_CrossAttention call."""
    torch.manual_seed(0)
    ca = MultiCrossAttention(24, 2, 12)
    xa, xb, t = (torch.randn(1, 3, 5, 24) for _ in range(3))
    with torch.no_grad():
        got = ca(xa, xb, t)
        y, z = xa.permute(0, 3, 1, 2), xb.permute(0, 3, 1, 2)
        qi = y.reshape(1, 24, 15).transpose(-1, -2)
        ki = z.reshape(1, 24, 15).transpose(-1, -2)
        vi = t.view(1, 24, 15).transpose(-1, -2)
        q = ca.linear_q(qi).view(1, -1, 2, 12).transpose(1, 2)
        k = ca.linear_k(ki).view(1, -1, 2, 12).transpose(1, 2)
        v = ca.linear_v(vi).view(1, -1, 2, 12).transpose(1, 2)
        att = torch.softmax((q @ k.transpose(-1, -2)) / math.sqrt(12), -1) @ v
        out = ca.linear_output(att.transpose(1, 2).reshape(1, 15, 24)).transpose(-1, -2).reshape(1, 24, 3, 5)
        torch.testing.assert_close(got, out.permute(0, 2, 3, 1), atol=1e-6, rtol=1e-5)
        ca.value_scramble = False
        assert not torch.allclose(ca(xa, xb, t), got)


def test_ori_decoder_uses_gamma_levels_only():
    """Cross-wiring: pw1/gated (alpha prompts -> gamma decoder) do not touch the ori output; pw2/gated1 do."""
    m = build(MICRO, seed=0, random_stats=True)
    a, b = _inputs(MICRO)
    with torch.no_grad():
        ref = m.forward_infer(a, b)
        ori_ref, gam_ref = m(a, b)
        m.global_adapter.blocks[1].pw1.conv.weight.mul_(3)
        m.global_adapter.gated.mul_(2)
        assert torch.equal(m.forward_infer(a, b), ref)
        ori, gam = m(a, b)
        assert torch.equal(ori[0], ori_ref[0]) and not torch.allclose(gam[0], gam_ref[0])
        m.global_adapter.gated1.mul_(2)
        assert not torch.allclose(m.forward_infer(a, b), ref)


def test_gates_are_registered_parameters():
    m = build(MICRO)
    sd = m.state_dict()
    assert sd["global_adapter.gated"].shape == (4,) and sd["global_adapter.gated1"].shape == (4,)
    assert MICRO.levels == (0, 1, 2, 3) and TINY.levels == (0, 1, 2, 3)
    assert DualSamConfig().levels == (2, 5, 8, 11)


@pytest.mark.parametrize("k", range(8))
def test_c3p_partner_offsets(k):
    p = torch.zeros(1, 8, 7, 7)
    p[0, k] = 1.0
    p[0, 7 - k, 3, 3] = 1.0
    got = c3p_vote(p)
    dy, dx = PARTNER_OFFSETS[k]
    # channel k is all ones, so vote_k(r, c) = p_{7-k}(r+dy, c+dx): a single one at (3-dy, 3-dx);
    # vote_{7-k} adds a one at (3, 3) (its partner, channel k, is one everywhere inside the map)
    assert float(got[0, 0, 3 - dy, 3 - dx]) == 1.0 and float(got[0, 0, 3, 3]) == 1.0
    assert float(got.sum()) == 2.0


def test_c3p_official_table():
    # dual-sam.md 1.7: partner of k=0 is p7(r+1,c), k=1 p6(r-1,c), k=2 p5(r,c+1), k=3 p4(r,c-1),
    # k=4 p3(r,c+1), k=5 p2(r,c+1), k=6 p1(r+1,c), k=7 p0(r+1,c)
    assert PARTNER_OFFSETS == ((1, 0), (-1, 0), (0, 1), (0, -1), (0, 1), (0, 1), (1, 0), (1, 0))


def test_c3p_recovers_square_from_connectivity_target():
    mask = torch.zeros(20, 20)
    mask[5:15, 4:12] = 1
    conn = sal2conn(mask)[None]
    pred = c3p_vote(conn)
    assert torch.equal(pred[0, 0], mask)   # every inside pixel has at least one inside partner pair
    assert conn[0, 1, 5, 4] == 0 and conn[0, 1, 6, 4] == 1   # k=1 looks one row up


def test_mask_threshold_is_65_5_over_255():
    pred = torch.tensor([65.4 / 255, 65.5 / 255 + 1e-6, 65.6 / 255, 0.0, 1.0]).view(1, 1, 1, 5)
    g = to_u8_map(pred)
    assert g.flatten().tolist() == [65, 66, 66, 0, 255]
    _, _, mask = decode_logits(torch.full((1, 8, 3, 3), 10.0))
    assert bool(mask.all())
    _, _, mask = decode_logits(torch.full((1, 8, 3, 3), -10.0))
    assert not bool(mask.any())
    # 0.51^2 = 0.2601 >= 0.2569 is foreground, 0.5^2 = 0.25 is not
    for p, fg in ((0.51, True), (0.5, False)):
        _, _, mask = decode_logits(torch.full((1, 8, 3, 3), math.log(p / (1 - p))))
        assert bool(mask[0, 0, 1, 1]) is fg


@torch.no_grad()
def test_encoder_block_and_adapter_semantics():
    """x' = x + Attn(LN1 x); y = MLP(LN2 x'); out = x' + (y + fc2(QuickGELU(fc1(LN_a y)))) (adapter residual)."""
    m = build(MICRO, seed=4, random_stats=True)
    blk, ad = m.image_encoder.blocks[1], m.adapter2[1]     # a global block
    assert blk.window_size == 0 and blk.norm1.eps == 1e-6 and ad.IN.eps == 1e-5
    x = torch.randn(1, 6, 6, 32)
    x1 = x + blk.attn(blk.norm1(x))
    y = blk.mlp.lin2(F.gelu(blk.mlp.lin1(blk.norm2(x1))))
    h = ad.fc[0](ad.IN(y))
    expect = x1 + (y + ad.fc[2](h * torch.sigmoid(1.702 * h)))
    torch.testing.assert_close(blk(x, ad), expect, atol=1e-6, rtol=1e-5)


@torch.no_grad()
def test_mcp_block_semantics():
    m = build(MICRO, seed=5, random_stats=True)
    blk = m.global_adapter.blocks[2]
    assert blk.norm1.eps == 1e-5
    p, xa, xb = (torch.randn(1, 6, 6, 32) for _ in range(3))
    n1, n2 = blk.norm1, blk.norm2
    t = p + blk.attn(n1(p))
    t = t + blk.mlp2(n2(t))
    u = t + blk.CA(n1(xa), n1(xb), n1(t))
    u = u + blk.mlp(n2(u))
    un = u.permute(0, 3, 1, 2)
    bn = blk.pw2.bn
    pw2 = F.gelu((F.conv2d(un, blk.pw2.conv.weight) - bn.running_mean[:, None, None])
                 / torch.sqrt(bn.running_var[:, None, None] + 1e-5) * bn.weight[:, None, None]
                 + bn.bias[:, None, None]).permute(0, 2, 3, 1)
    p_next, pr2, pr3 = blk(p, xa, xb)
    torch.testing.assert_close(p_next, t)
    torch.testing.assert_close(pr3, pw2, atol=1e-5, rtol=1e-5)
    assert blk(p, xa, xb, need_pw1=False)[1] is None and pr2.shape == pr3.shape


@torch.no_grad()
def test_dfam_structure():
    m = build(MICRO, seed=6, random_stats=True)
    fu = m.desam.fu2
    assert fu.pw2.conv.dilation == (2, 2) and fu.pw2.conv.padding == (2, 2) and fu.pw2.conv.bias is None
    assert fu.pw1.conv.kernel_size == (1, 1) and fu.pw1.conv.in_channels == MICRO.dec_channels[0] + MICRO.dec_channels[1]
    x = torch.randn(1, fu.pw1.conv.in_channels, 7, 7)
    h = fu.pw1(x)
    w = fu.se.fc(h.mean((2, 3), keepdim=True)) + fu.se.fc(h.amax((2, 3), keepdim=True))
    torch.testing.assert_close(fu(x), fu.pw2(h + h * torch.sigmoid(w)))
