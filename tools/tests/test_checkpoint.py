"""Checkpoint loading: official LoRA_Sam layout (synthetic, round trip) and our own checkpoints."""
import pytest
import torch

from tools.dualsam import checkpoint as ck
from tools.dualsam.model import build
from tools.dualsam.configs import MICRO


def _inputs(cfg, seed=1):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(1, 3, cfg.img_size, cfg.img_size, generator=g),
            torch.randn(1, 3, cfg.img_size, cfg.img_size, generator=g))

torch.set_num_threads(1)

# key names read from Drchip61/Dual_SAM (sam_lora_image_encoder_modi.py, image_encoder.py, mask_decoder.py)
OFFICIAL_SAMPLE_KEYS = [
    "sam.image_encoder.patch_embed.proj.weight", "sam.image_encoder.pos_embed",
    "sam.image_encoder.blocks.0.attn.qkv.qkv.weight", "sam.image_encoder.blocks.0.attn.qkv.qkv.bias",
    "sam.image_encoder.blocks.0.attn.qkv.linear_a_q.weight", "sam.image_encoder.blocks.0.attn.qkv.linear_b_v.weight",
    "sam.image_encoder.blocks.0.attn.rel_pos_h", "sam.image_encoder.blocks.0.mlp.lin1.weight",
    "sam.image_encoder.neck.0.weight", "sam.image_encoder.neck.3.bias",
    "adapter1.0.IN.weight", "adapter2.3.fc.2.bias", "adapter1.0.fc.0.weight",
    "global_adapter.patch_embed.proj.weight", "global_adapter.pos_embed",
    "global_adapter.blocks.0.CA.linear_q.weight", "global_adapter.blocks.0.CA.linear_output.bias",
    "global_adapter.blocks.0.attn.qkv.weight", "global_adapter.blocks.0.mlp2.lin2.weight",
    "global_adapter.blocks.3.pw2.bn.running_var", "desam.de12.conv_up.weight", "desam.de12.conv_fu.conv.weight",
    "desam.de6.1.conv_fu.bn.weight", "desam.de31.2.conv_up.bias", "desam.fu1.se.fc.0.weight",
    "desam.fu44.pw2.conv.weight", "desam.up1.conv_up.weight", "desam.pre4.0.weight", "desam.pre4.1.pre.weight",
    "desam.pre3.1.up.conv.weight", "desam.pre11.1.pre.bias",
]


def test_official_layout_keys_and_round_trip():
    src = build(MICRO, seed=0, random_stats=True)
    off, gated, gated1 = ck.ours_to_official(src.state_dict())
    for k in OFFICIAL_SAMPLE_KEYS:
        assert k in off, k
    assert not any("gated" in k for k in off)
    # the official file also holds modules we drop
    off["sam.mask_decoder.iou_token.weight"] = torch.zeros(1, 4)
    off["sam.pixel_mean"] = torch.zeros(3, 1, 1)
    dst = ck.load(off, cfg=MICRO, gated=gated, gated1=gated1)
    a, b = _inputs(MICRO)
    with torch.no_grad():
        assert torch.equal(dst.forward_infer(a, b), src.forward_infer(a, b))
        o1, g1 = dst(a, b)
        o2, g2 = src(a, b)
    assert all(torch.equal(x, y) for x, y in zip(o1 + g1, o2 + g2))


def test_official_requires_gates():
    off, _, _ = ck.ours_to_official(build(MICRO, seed=0).state_dict())
    with pytest.raises(ck.CheckpointError, match="gated"):
        ck.load(off, cfg=MICRO)
    m = ck.load({("module." + k): v for k, v in off.items()}, cfg=MICRO, gated=[0.5] * 4, gated1=[2.0] * 4)
    assert m.global_adapter.gated1.tolist() == [2.0] * 4


def test_gate_values_change_only_their_decoder():
    src = build(MICRO, seed=0, random_stats=True)
    off, g, g1 = ck.ours_to_official(src.state_dict())
    a, b = _inputs(MICRO)
    m1 = ck.load(off, cfg=MICRO, gated=g, gated1=g1)
    m2 = ck.load(off, cfg=MICRO, gated=[0.0] * 4, gated1=g1)
    m3 = ck.load(off, cfg=MICRO, gated=g, gated1=[0.0] * 4)
    with torch.no_grad():
        assert torch.equal(m1.forward_infer(a, b), m2.forward_infer(a, b))
        assert not torch.allclose(m1.forward_infer(a, b), m3.forward_infer(a, b))


def test_own_checkpoint_round_trip_and_merged(tmp_path):
    src = build(MICRO, seed=0, random_stats=True)
    a, b = _inputs(MICRO)
    ck.save(src, tmp_path / "c.pt", meta={"epoch": 3})
    dst = ck.load(tmp_path / "c.pt")
    assert dst.cfg == MICRO
    with torch.no_grad():
        ref = src.forward_infer(a, b)
        assert torch.equal(dst.forward_infer(a, b), ref)
        src.merge_lora()
        ck.save(src, tmp_path / "m.pt")
        merged = ck.load(tmp_path / "m.pt")
        torch.testing.assert_close(merged.forward_infer(a, b), ref, atol=1e-4, rtol=1e-4)


def test_training_checkpoint_layout(tmp_path):
    src = build(MICRO, seed=0, random_stats=True)
    torch.save({"model": src.state_dict(), "config": MICRO.to_dict(), "epoch": 1, "optimizer": {}},
               tmp_path / "last.pt")
    dst = ck.load(tmp_path / "last.pt")
    a, b = _inputs(MICRO)
    with torch.no_grad():
        assert torch.equal(dst.forward_infer(a, b), src.forward_infer(a, b))


def test_mismatch_is_reported(tmp_path):
    sd = build(MICRO, seed=0).state_dict()
    bad = dict(sd)
    bad["desam.fu1.pw1.conv.weight"] = torch.zeros(1, 1, 1, 1)
    with pytest.raises(ck.CheckpointError, match="fu1.pw1.conv.weight"):
        ck.load(bad, cfg=MICRO)
    bad = dict(sd)
    del bad["desam.pre4.0.weight"]
    with pytest.raises(ck.CheckpointError, match="missing"):
        ck.load(bad, cfg=MICRO)
    with pytest.raises(ck.CheckpointError, match="config"):
        ck.load(sd)


def test_sam_encoder_init_resizes_pos_and_rel_pos():
    big = build(MICRO.replace(img_size=192), seed=1, random_stats=True)   # stands in for SAM at 1024
    sam_sd = {"image_encoder." + k: v for k, v in big.image_encoder.state_dict().items() if ".lora." not in k}
    sam_sd["mask_decoder.iou_token.weight"] = torch.zeros(1, 4)
    m = build(MICRO, seed=0)
    ck.load_sam_image_encoder(m, sam_sd)
    enc = m.image_encoder
    assert torch.equal(enc.blocks[0].attn.qkv.weight, big.image_encoder.blocks[0].attn.qkv.weight)
    assert torch.equal(enc.blocks[0].attn.rel_pos_h, big.image_encoder.blocks[0].attn.rel_pos_h)  # window block
    assert enc.blocks[1].attn.rel_pos_h.shape == (11, MICRO.head_dim)                             # global: 2G-1
    assert enc.pos_embed.shape == (1, 6, 6, MICRO.embed_dim)
    # a constant pos embed stays constant under bilinear resizing
    sam_sd["image_encoder.pos_embed"] = torch.full_like(sam_sd["image_encoder.pos_embed"], 0.25)
    ck.load_sam_image_encoder(m, sam_sd)
    assert torch.allclose(enc.pos_embed, torch.full_like(enc.pos_embed, 0.25))
