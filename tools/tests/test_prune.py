"""Structured pruning: identity when keeping everything; zero-weight units removed without output change."""
import pytest
import torch

from tools.dualsam import checkpoint as ck
from tools.dualsam.configs import MICRO, TINY
from tools.dualsam.model import build
from tools.dualsam.prune import build_groups, main, prune_model, prune_state_dict, select_blocks

torch.set_num_threads(1)


def _inputs(cfg, seed=1):
    g = torch.Generator().manual_seed(seed)
    s = cfg.img_size
    return torch.randn(1, 3, s, s, generator=g), torch.randn(1, 3, s, s, generator=g)


def test_keeping_everything_is_identity():
    m = build(TINY, seed=0, random_stats=True).merge_lora()
    a, b = _inputs(TINY)
    with torch.no_grad():
        ref = m.forward_infer(a, b)
        ref_full = m(a, b)
        p = prune_model(m, TINY)
        assert torch.equal(p.forward_infer(a, b), ref)
        full = p(a, b)
    assert all(torch.equal(x, y) for x, y in zip(full[0] + full[1], ref_full[0] + ref_full[1]))


def _zero(sd, key, axis, idx):
    t = sd[key]
    sl = [slice(None)] * t.dim()
    sl[axis] = idx
    t[tuple(sl)] = 0


@torch.no_grad()
def test_removing_zero_units_leaves_output_unchanged():
    cfg = MICRO
    m = build(cfg, seed=0, random_stats=True).merge_lora()
    sd = m.state_dict()
    hd, A = cfg.head_dim, cfg.attn_dim
    for i in range(cfg.depth):
        b = f"image_encoder.blocks.{i}."
        h = i % cfg.num_heads                                   # one head per block (q, k, v rows; proj cols)
        for part in range(3):
            _zero(sd, b + "attn.qkv.weight", 0, slice(part * A + h * hd, part * A + (h + 1) * hd))
            _zero(sd, b + "attn.qkv.bias", 0, slice(part * A + h * hd, part * A + (h + 1) * hd))
        _zero(sd, b + "attn.proj.weight", 1, slice(h * hd, (h + 1) * hd))
        u = 7 + i                                               # one MLP hidden unit
        _zero(sd, b + "mlp.lin1.weight", 0, u); _zero(sd, b + "mlp.lin1.bias", 0, u)
        _zero(sd, b + "mlp.lin2.weight", 1, u)
        for ad in ("adapter1", "adapter2"):                     # one adapter unit
            _zero(sd, f"{ad}.{i}.fc.0.weight", 0, 2); _zero(sd, f"{ad}.{i}.fc.0.bias", 0, 2)
            _zero(sd, f"{ad}.{i}.fc.2.weight", 1, 2)
    for j in range(4):
        g = f"global_adapter.blocks.{j}."
        mh = cfg.mcp_heads * cfg.mcp_head_dim                   # MCP self-attention head 0
        for part in range(3):
            _zero(sd, g + "attn.qkv.weight", 0, slice(part * mh, part * mh + cfg.mcp_head_dim))
            _zero(sd, g + "attn.qkv.bias", 0, slice(part * mh, part * mh + cfg.mcp_head_dim))
        _zero(sd, g + "attn.proj.weight", 1, slice(0, cfg.mcp_head_dim))
        ch = slice(cfg.ca_head_dim, 2 * cfg.ca_head_dim)        # cross-attention head 1
        for k in ("linear_q", "linear_k", "linear_v"):
            _zero(sd, g + f"CA.{k}.weight", 0, ch)
        _zero(sd, g + "CA.linear_output.weight", 1, ch)
        for mlp in ("mlp", "mlp2"):
            _zero(sd, g + f"{mlp}.lin1.weight", 0, 3); _zero(sd, g + f"{mlp}.lin1.bias", 0, 3)
            _zero(sd, g + f"{mlp}.lin2.weight", 1, 3)
    # decoder: one channel in every c2-wide channel space (de9/de6/de3 stages, fu2's pw1/pw2, up2), zeroed in
    # every tensor that writes or reads it (the channel lists come from the pruner's own group table; a wrong
    # table shows up as a shape mismatch on load or as an output change)
    small_dec = cfg.replace(dec_channels=(cfg.dec_channels[0], cfg.dec_channels[1] - 1) + cfg.dec_channels[2:])
    n_dec = 0
    for g in build_groups(cfg, small_dec, list(range(cfg.depth))):
        if g.size_dst < g.size_src:
            n_dec += 1
            for key, axis, off in g.members:
                _zero(sd, key, axis, off + 5)
    assert n_dec == 2 * 10
    m.load_state_dict(sd)
    a, b = _inputs(cfg)
    ref_trace = {}
    ref = m.forward_infer(a, b, trace=ref_trace)
    c1, c2, c3, c4 = cfg.dec_channels
    small = cfg.replace(num_heads=cfg.num_heads - 1, mlp_dim=cfg.mlp_dim - 1, adapter_dim=cfg.adapter_dim - 1,
                        mcp_heads=cfg.mcp_heads - 1, ca_heads=cfg.ca_heads - 1, mcp_mlp_dim=cfg.mcp_mlp_dim - 1,
                        mcp_mlp2_dim=cfg.mcp_mlp2_dim - 1, dec_channels=(c1, c2 - 1, c3, c4))
    p = ck.load(prune_state_dict(m.state_dict(), cfg, small), cfg=small)
    trace = {}
    torch.testing.assert_close(p.forward_infer(a, b, trace=trace), ref, atol=2e-5, rtol=1e-5)
    # a random decoder damps differences, so compare every intermediate of the same shape too
    same = [k for k in ref_trace if trace[k].shape == ref_trace[k].shape]
    assert {"alpha.block3", "beta.level3", "mcp3.u", "neck", "ori.F1", "ori.F4"} <= set(same)
    for k in same:
        torch.testing.assert_close(trace[k], ref_trace[k], atol=5e-5, rtol=1e-5, msg=k)
    assert p.image_encoder.blocks[0].attn.qkv.weight.shape == (3 * small.attn_dim, cfg.embed_dim)
    # sanity: pruning the same units of the un-zeroed model does change the features
    m0 = build(cfg, seed=0, random_stats=True).merge_lora()
    t0, t2 = {}, {}
    m0.forward_infer(a, b, trace=t0)
    ck.load(prune_state_dict(m0.state_dict(), cfg, small), cfg=small).forward_infer(a, b, trace=t2)
    assert (t2["neck"] - t0["neck"]).abs().max() > 1e-2


@torch.no_grad()
def test_depth_pruning_drops_identity_blocks():
    src_cfg = MICRO.replace(depth=8, global_attn_indexes=(3, 7))
    m = build(src_cfg, seed=0, random_stats=True).merge_lora()
    sd = m.state_dict()
    for i in (0, 2, 4, 6):   # make the first block of every level an identity map
        for k in ("attn.proj.weight", "attn.proj.bias", "mlp.lin2.weight", "mlp.lin2.bias"):
            sd[f"image_encoder.blocks.{i}.{k}"].zero_()
        for ad in ("adapter1", "adapter2"):
            sd[f"{ad}.{i}.fc.2.weight"].zero_()
            sd[f"{ad}.{i}.fc.2.bias"].zero_()
    m.load_state_dict(sd)
    a, b = _inputs(src_cfg)
    t_ref, t = {}, {}
    ref = m.forward_infer(a, b, trace=t_ref)
    dst_cfg = MICRO.replace(depth=4, global_attn_indexes=(1, 3))
    p = ck.load(prune_state_dict(m.state_dict(), src_cfg, dst_cfg), cfg=dst_cfg)
    torch.testing.assert_close(p.forward_infer(a, b, trace=t), ref, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(t["neck"], t_ref["neck"], atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(t["beta.block1"], t_ref["beta.block3"], atol=1e-5, rtol=1e-5)


def test_input_size_and_width_changes_run():
    m = build(MICRO, seed=0, random_stats=True)
    small = MICRO.replace(img_size=64, window_size=3, embed_dim=24, neck_dim=12, dec_channels=(12, 6, 6, 3))
    p = prune_model(m, small)
    a, b = _inputs(small)
    with torch.no_grad():
        out = p.forward_infer(a, b)
    assert out.shape == (1, 8, 64, 64) and torch.isfinite(out).all()
    assert p.image_encoder.pos_embed.shape == (1, 4, 4, 24)
    assert p.image_encoder.blocks[0].attn.rel_pos_h.shape == (5, MICRO.head_dim)
    assert p.image_encoder.blocks[1].attn.rel_pos_h.shape == (7, MICRO.head_dim)


def test_growing_or_head_dim_change_is_rejected():
    m = build(MICRO, seed=0)
    with pytest.raises(ValueError, match="grow"):
        prune_model(m, MICRO.replace(mlp_dim=MICRO.mlp_dim + 1))
    with pytest.raises(ValueError, match="head_dim"):
        prune_model(m, MICRO.replace(head_dim=8))


def test_cli(tmp_path):
    m = build(MICRO, seed=0, random_stats=True)
    ck.save(m, tmp_path / "src.pt")
    small = MICRO.replace(name="micro-small", mlp_dim=32, num_heads=1)
    (tmp_path / "small.json").write_text(small.to_json())
    assert main(["--from", str(tmp_path / "src.pt"), "--from-config", "micro", "--to-config",
                 str(tmp_path / "small.json"), "--out", str(tmp_path / "dst.pt")]) == 0
    p = ck.load(tmp_path / "dst.pt")
    assert p.cfg == small and p.image_encoder.blocks[0].mlp.lin1.weight.shape == (32, MICRO.embed_dim)


def test_cli_reports_errors(tmp_path, capsys):
    off, _, _ = ck.ours_to_official(build(MICRO, seed=0).state_dict())
    torch.save(off, tmp_path / "official.pth")
    rc = main(["--from", str(tmp_path / "official.pth"), "--from-config", "micro", "--to-config", "micro",
               "--out", str(tmp_path / "o.pt")])
    assert rc == 2 and "gated" in capsys.readouterr().err
    rc = main(["--from", str(tmp_path / "official.pth"), "--from-config", "micro", "--to-config", "micro",
               "--out", str(tmp_path / "o.pt"), "--gated", "1", "1", "1", "1", "--gated1", "1", "1", "1", "1"])
    assert rc == 0 and ck.load(tmp_path / "o.pt").global_adapter.gated1.tolist() == [1.0] * 4


def test_block_selection_keeps_global_blocks():
    src = MICRO.replace(depth=12, global_attn_indexes=(2, 5, 8, 11))
    dst = MICRO.replace(depth=8, global_attn_indexes=(1, 3, 5, 7))
    sd = {}
    for i in range(12):
        w = 0.01 if i in src.global_attn_indexes else 1.0 + i   # global blocks score lowest
        sd[f"image_encoder.blocks.{i}.attn.proj.weight"] = torch.full((2, 2), w)
        sd[f"image_encoder.blocks.{i}.mlp.lin2.weight"] = torch.full((2, 2), w)
    assert select_blocks(sd, src, dst) == [1, 2, 4, 5, 7, 8, 10, 11]
    # without matching global positions the score decides: the two best of every level
    dst2 = MICRO.replace(depth=8, global_attn_indexes=(0, 2, 4, 6))
    assert select_blocks(sd, src, dst2) == [0, 1, 3, 4, 6, 7, 9, 10]
