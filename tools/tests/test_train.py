"""tools/train.py: the official objective, a smoke run whose loss decreases, exact resume, freezing, distillation,
and the fp32 model path of tools/eval.py."""
import json
import math

import pytest
import torch
import torch.nn.functional as F

from tools.dualsam.configs import DualSamConfig
from tools.eval import main as eval_main
from tools.synth.__main__ import main as synth_main
from tools.train import dual_sam_loss, load_weights, main, mutual_weight

torch.set_num_threads(1)

# Structurally complete but small: padded windows, global blocks, four MCP levels, both decoders.
MICRO = dict(name="micro", img_size=64, embed_dim=32, depth=4, num_heads=2, head_dim=16, mlp_dim=64, window_size=3,
             global_attn_indexes=[1, 3], adapter_dim=8, mcp_heads=2, mcp_head_dim=16, mcp_mlp_dim=48,
             mcp_mlp2_dim=40, ca_heads=2, ca_head_dim=12, neck_dim=16, dec_channels=[16, 8, 8, 4],
             se_hidden=[2, 1, 1, 1], head_dim_pre=4)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("train")
    synth_main(["--out", str(root / "data"), "--count", "4", "--seed", "8", "--size", "96", "--empty-prob", "0"])
    cfg = root / "micro.json"
    cfg.write_text(json.dumps(MICRO))
    return root, str(cfg)


def _run(root, cfg, name, *extra):
    out = root / name
    argv = ["--data", str(root / "data"), "--config", cfg, "--out", str(out), "--batch", "4", "--quiet",
            "--lr", "3e-3", *extra]
    assert main(argv) == 0
    return out


def test_mutual_weight_ramp():
    assert mutual_weight(0, 25) == pytest.approx(0.1 * math.exp(-5))
    assert mutual_weight(24, 25) == pytest.approx(0.1 * math.exp(-5 * (1 / 25) ** 2))
    assert mutual_weight(0, 25) < mutual_weight(12, 25) < mutual_weight(24, 25) < 0.1


def test_loss_is_the_official_objective():
    g = torch.Generator().manual_seed(0)
    sizes = [16, 8, 4, 2]
    ori = [torch.randn(2, 8, s, s, generator=g) for s in sizes]
    gam = [torch.randn(2, 8, s, s, generator=g) for s in sizes]
    tgt = [(torch.rand(2, 8, s, s, generator=g) > 0.5).float() for s in sizes]
    total, parts = dual_sam_loss(ori, gam, tgt, epoch=5, epochs=25)

    def bce(logits, t):  # BCELoss on probabilities, written out
        p = torch.sigmoid(logits)
        return -(t * torch.log(p) + (1 - t) * torch.log(1 - p)).mean()

    bicon = sum(bce(o, t) + bce(m, t) for o, m, t in zip(ori, gam, tgt))
    mutual = sum(bce(o, (torch.sigmoid(m) >= 0.5001).float()) + bce(m, (torch.sigmoid(o) >= 0.5001).float())
                 for o, m in zip(ori, gam))
    lam = 0.1 * math.exp(-5 * (1 - 5 / 25) ** 2)
    assert parts["bicon"] == pytest.approx(float(bicon), rel=1e-5)
    assert parts["mutual"] == pytest.approx(float(mutual), rel=1e-5)
    assert float(total) == pytest.approx(float(bicon + lam * mutual), rel=1e-5)


def test_smoke_training_loss_decreases(setup):
    root, cfg = setup
    # Many nominal epochs keep the mutual-supervision ramp near its start, so the total loss is the supervised one.
    out = _run(root, cfg, "smoke", "--epochs", "200", "--max-steps", "12", "--lr", "1e-2", "--lr-step", "1000",
               "--log-steps")
    ck = torch.load(out / "last.pt", weights_only=True)
    losses = [h["loss"] for h in ck["history"] if "lambda" in h]
    assert len(losses) == 12 and ck["step"] == 12
    assert sum(losses[-3:]) / 3 < 0.92 * sum(losses[:3]) / 3, losses
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    lines = (out / "log.jsonl").read_text().splitlines()
    assert len(lines) == 12 and json.loads(lines[-1])["epoch"] == 11


def test_resume_continues_exactly(setup):
    root, cfg = setup
    straight = _run(root, cfg, "straight", "--epochs", "4", "--shuffle", "--flip")
    part = _run(root, cfg, "part", "--epochs", "4", "--shuffle", "--flip", "--max-steps", "2")
    assert torch.load(part / "last.pt", weights_only=True)["epoch"] == 1
    # The resumed half also re-reads its images instead of caching them: the batches must not change.
    _run(root, cfg, "part", "--epochs", "4", "--shuffle", "--flip", "--resume", str(part / "last.pt"), "--no-cache")
    a = torch.load(straight / "last.pt", weights_only=True)
    b = torch.load(part / "last.pt", weights_only=True)
    assert a["step"] == b["step"] == 4
    for k, v in a["model"].items():
        assert torch.equal(v, b["model"][k]), k


def test_freeze_encoder_trains_only_lora_and_heads(setup):
    root, cfg = setup
    init = _run(root, cfg, "init", "--epochs", "1", "--lr", "0")
    out = _run(root, cfg, "frozen", "--epochs", "2", "--freeze-encoder", "--init", str(init / "last.pt"))
    before = torch.load(init / "last.pt", weights_only=True)["model"]
    after = torch.load(out / "last.pt", weights_only=True)["model"]
    for k, v in before.items():
        same = torch.equal(v, after[k])
        if k.startswith("global_adapter.gated") or (k.startswith("image_encoder.") and ".lora." not in k
                                                   and "running_" not in k and "num_batches" not in k):
            assert same, k
    assert any(not torch.equal(v, after[k]) for k, v in before.items() if k.startswith("desam."))
    assert any(not torch.equal(v, after[k]) for k, v in before.items() if ".lora.linear_b" in k)


def test_distillation_from_a_larger_teacher(setup):
    root, cfg = setup
    big = dict(MICRO, name="micro96", img_size=96)
    tcfg = root / "teacher.json"
    tcfg.write_text(json.dumps(big))
    teacher = _run(root, str(tcfg), "teacher", "--epochs", "1")
    out = _run(root, cfg, "student", "--epochs", "2", "--teacher", str(teacher / "last.pt"), "--log-steps")
    hist = torch.load(out / "last.pt", weights_only=True)["history"]
    assert all(h["distill"] > 0 for h in hist if "lambda" in h)


def test_eval_scores_a_checkpoint(setup, tmp_path):
    root, cfg = setup
    out = _run(root, cfg, "evalme", "--epochs", "1", "--val", str(root / "data"))
    val = json.loads((out / "log.jsonl").read_text().splitlines()[-1])["val"]
    assert eval_main(["--model", str(out / "last.pt"), "--gt", str(root / "data"), "--out", str(tmp_path / "t.md"),
                      "--csv", str(tmp_path / "t.csv"), "--save-pred", str(tmp_path / "pred")]) == 0
    row = (tmp_path / "t.md").read_text().splitlines()[2]
    assert f"| {val['miou']:.4f} | {val['sm']:.4f} |" in row
    # The saved maps score the same through the folder path (what the Swift engine's output goes through).
    assert eval_main(["--pred", str(tmp_path / "pred"), "--gt", str(root / "data"), "--out",
                      str(tmp_path / "u.md")]) == 0
    assert (tmp_path / "u.md").read_text().splitlines()[2].split("|")[3:] == row.split("|")[3:]
    model, ck = load_weights(str(out / "last.pt"))
    assert model.cfg == DualSamConfig.from_dict(MICRO) and ck["epoch"] == 0


def test_init_from_bare_state_dict_and_bad_checkpoint(setup, tmp_path):
    root, cfg = setup
    from tools.dualsam.model import build

    model = build(DualSamConfig.from_dict(MICRO), seed=3)
    torch.save(model.state_dict(), tmp_path / "bare.pt")
    out = _run(root, cfg, "bare", "--epochs", "1", "--lr", "0", "--init", str(tmp_path / "bare.pt"))
    after = torch.load(out / "last.pt", weights_only=True)["model"]
    assert torch.equal(after["desam.pre44.0.weight"], model.state_dict()["desam.pre44.0.weight"])
    # A checkpoint of another shape is a clear error (exit 2), not a crash.
    other = build(DualSamConfig.from_dict(dict(MICRO, embed_dim=48)), seed=3)
    torch.save(other.state_dict(), tmp_path / "other.pt")
    assert main(["--data", str(root / "data"), "--config", cfg, "--out", str(tmp_path / "x"), "--quiet",
                 "--init", str(tmp_path / "other.pt")]) == 2


def test_eval_table_rows_for_checkpoint_and_model_files(setup, tmp_path):
    """One command scores the fp32 checkpoint and .dsm files (fp32 and int8) of the same weights."""
    from tools.convert.__main__ import main as convert_main

    root, cfg = setup
    out = _run(root, cfg, "dsm", "--epochs", "200", "--max-steps", "12", "--lr", "1e-2", "--lr-step", "1000")
    ck = str(out / "last.pt")
    for dtype in ("fp32", "int8"):
        assert convert_main(["--checkpoint", ck, "--dtype", dtype, "--calib", str(root / "data" / "Image"),
                             "--out", str(tmp_path / f"m_{dtype}.dsm")]) == 0
    assert eval_main(["--gt", str(root / "data"), "--model", ck, "--dsm", str(tmp_path / "m_fp32.dsm"),
                      "--dsm", str(tmp_path / "m_int8.dsm"), "--csv", str(tmp_path / "t.csv")]) == 0
    import csv

    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert [r["model"].split(" ")[0] for r in rows] == ["last.pt", "m_fp32.dsm", "m_int8.dsm"]
    ref, f32, i8 = (float(r["mae"]) for r in rows)
    assert f32 == pytest.approx(ref, abs=1e-3)  # same weights, same pre-processing, fp32 both ways
    assert i8 == pytest.approx(ref, abs=0.02)
