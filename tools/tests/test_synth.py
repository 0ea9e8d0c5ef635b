"""Scene generator: determinism, exact masks (occlusion, clipping, blur convention), plausible water colour."""
import copy
import dataclasses
import filecmp
import os

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from tools.synth import generate, make_scene, render
from tools.synth.__main__ import main as synth_main
from tools.synth.render import rasterise
from tools.synth.spec import Layer, Scene, Seabed, Water


def _files(d):
    return sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs)


def test_cli_is_byte_identical_across_runs(tmp_path):
    for run in ("a", "b"):
        assert synth_main(["--out", str(tmp_path / run), "--count", "5", "--seed", "11", "--size", "96"]) == 0
    names = _files(tmp_path / "a")
    assert len(names) == 10 and names == _files(tmp_path / "b")
    assert sum(n.startswith("Image/") and n.endswith(".jpg") for n in names) == 5
    for n in names:
        assert filecmp.cmp(tmp_path / "a" / n, tmp_path / "b" / n, shallow=False), n
    synth_main(["--out", str(tmp_path / "c"), "--count", "5", "--seed", "12", "--size", "96"])
    differs = [not filecmp.cmp(tmp_path / "a" / n, tmp_path / "c" / n.replace("s11", "s12"), shallow=False)
               for n in names if n.startswith("Image/")]
    assert all(differs)


def test_cli_png_and_rectangular(tmp_path):
    synth_main(["--out", str(tmp_path), "--count", "2", "--seed", "1", "--size", "80", "--height", "48",
                "--format", "png", "--split", "test"])
    img = Image.open(tmp_path / "Image" / "synth_test_s1_000000.png")
    mask = Image.open(tmp_path / "Masks" / "synth_test_s1_000000.png")
    assert img.size == (80, 48) and img.mode == "RGB" and mask.size == (80, 48) and mask.mode == "L"


def test_image_is_independent_of_batch():
    """Image i of a split depends only on (seed, split, i), not on what else was generated."""
    a, ma, _ = generate(5, "train", 7, 64, 64)
    generate(5, "train", 6, 64, 64)
    b, mb, _ = generate(5, "train", 7, 64, 64)
    assert np.array_equal(a, b) and np.array_equal(ma, mb)
    c, _, _ = generate(5, "test", 7, 64, 64)
    assert not np.array_equal(a, c)


def _sharp(scene: Scene) -> Scene:
    """The same scene without blur, so visibility is purely geometric."""
    s = copy.deepcopy(scene)
    s.defocus = 0.0
    s.layers = [dataclasses.replace(L, motion=(0.0, 0.0)) for L in s.layers]
    return s


def _painter_visibility(scene: Scene) -> np.ndarray:
    """Independent re-computation: pixels covered by an animal and by no layer painted after it."""
    h, w = scene.height, scene.width
    covers = []
    for layer in scene.layers:
        full = np.zeros((h, w), bool)
        r = rasterise(layer, w, h)
        if r is not None:
            lab, x0, y0 = r
            ys, xs = np.nonzero(lab)
            ys, xs = ys + y0, xs + x0
            ok = (ys >= 0) & (ys < h) & (xs >= 0) & (xs < w)
            full[ys[ok], xs[ok]] = True
        covers.append(full)
    vis = np.zeros((h, w), bool)
    for i, layer in enumerate(scene.layers):
        if not layer.is_animal:
            continue
        above = np.zeros((h, w), bool)
        for c in covers[i + 1:]:
            above |= c
        vis |= covers[i] & ~above
    return vis


@pytest.mark.parametrize("index", range(12))
def test_mask_is_exactly_the_visible_animals(index):
    scene = _sharp(make_scene(3, "train", index, 160, 120))
    _, mask = render(scene)
    assert set(np.unique(mask)) <= {0, 255}
    expected = _painter_visibility(scene)
    assert np.array_equal(mask == 255, expected)


def test_masks_binary_and_empty_exactly_without_visible_animals():
    seen_empty = seen_full = 0
    for i in range(30):
        scene = make_scene(9, "train", i, 96, 96, empty_prob=0.3)
        _, mask = render(scene)
        assert set(np.unique(mask)) <= {0, 255}
        has_animal = any(L.is_animal for L in scene.layers)
        if not has_animal:
            seen_empty += 1
            assert not mask.any()
        sharp_vis = _painter_visibility(_sharp(scene))
        if not sharp_vis.any():
            assert not mask.any()  # blur only smears what is visible; nothing visible stays nothing
        else:
            seen_full += 1
    assert seen_empty >= 3 and seen_full >= 10


def _plain_scene(w, h, layers) -> Scene:
    water = Water(beta=(0.4, 0.08, 0.06), scatter_ratio=(0.1, 0.6, 0.7), depth=5.0, caustics=0.0, caustic_cell=40.0,
                  lamp=0.0, lamp_xy=(0.5, 0.5), white_balance=0.0, veil_gradient=0.3)
    return Scene(width=w, height=h, water=water, seabed=Seabed(1.5, (0.6,) * 3, (0.3,) * 3, 0.0, 2.0, 1),
                 layers=layers, snow=0, seed=1)


def _fish(cx, cy, length, z=2.0, motion=(0.0, 0.0)):
    params = {"h": 0.25, "tail": 0.2, "fork": 0.5, "dorsal": 0.1, "front": 0.2}
    pal = [[0.8, 0.5, 0.1], [0.7, 0.4, 0.1], [0.02, 0.02, 0.02], [0.9, 0.9, 0.8]]
    return Layer("animal", "fish", params, cx, cy, length, 0.3, pal, {"type": "plain"}, z, motion=motion, seed=4)


def _rock(cx, cy, length, z=0.5):
    pal = [[0.3, 0.3, 0.3]] * 4
    return Layer("scenery", "rock", {"radii": [1.0] * 7, "flat": 0.9}, cx, cy, length, 0.0, pal,
                 {"type": "mottle", "contrast": 0.3, "scale": 0.1}, z, seed=5)


def test_fully_occluded_animal_contributes_nothing():
    fish = _fish(60, 60, 40)
    _, alone = render(_plain_scene(128, 128, [fish]))
    assert alone.any()
    _, hidden = render(_plain_scene(128, 128, [fish, _rock(60, 60, 110)]))
    assert not hidden.any()
    # Half hidden: what remains is the fish minus the rock.
    _, half = render(_plain_scene(128, 128, [fish, _rock(30, 60, 60)]))
    assert 0 < (half > 0).sum() < (alone > 0).sum()
    # An occluder behind the animal changes nothing in the mask.
    _, behind = render(_plain_scene(128, 128, [_rock(60, 60, 110, z=5.0), fish]))
    assert np.array_equal(behind, alone)


def test_out_of_frame_clipping_matches_a_larger_canvas():
    w, h, pad = 96, 80, 40
    fish = _fish(-5, 30, 70)  # head inside, tail beyond the left edge
    _, small = render(_plain_scene(w, h, [fish]))
    big_fish = dataclasses.replace(fish, cx=fish.cx + pad, cy=fish.cy + pad)
    _, big = render(_plain_scene(w + 2 * pad, h + 2 * pad, [big_fish]))
    assert small.any() and (big > 0).sum() > (small > 0).sum()
    assert np.array_equal(small, big[pad:pad + h, pad:pad + w])
    _, gone = render(_plain_scene(w, h, [_fish(-200, 30, 70)]))
    assert not gone.any()


def test_motion_blur_mask_convention():
    """A moving animal is masked where its smeared coverage is >= 1/2: between the eroded and dilated sharp mask."""
    _, sharp = render(_plain_scene(128, 128, [_fish(64, 64, 60)]))
    _, moving = render(_plain_scene(128, 128, [_fish(64, 64, 60, motion=(12.0, 4.0))]))
    s, m = sharp > 0, moving > 0
    assert not np.array_equal(s, m)
    grow = ndimage.binary_dilation(s, iterations=8)
    shrink = ndimage.binary_erosion(s, iterations=8)
    assert (m & ~grow).sum() == 0 and (shrink & ~m).sum() == 0
    assert abs(int(m.sum()) - int(s.sum())) < 0.25 * s.sum()


def test_deep_water_absorbs_red_first():
    reds, shallow_ratio, deep_ratio = [], [], []
    for i in range(6):
        scene = make_scene(21, "train", i, 96, 96)
        for depth, sink in ((25.0, deep_ratio), (1.0, shallow_ratio)):
            s = copy.deepcopy(scene)
            s.water.depth, s.water.lamp, s.water.white_balance = depth, 0.0, 0.0
            rgb, _ = render(s)
            mean = rgb.reshape(-1, 3).astype(float).mean(axis=0)
            if depth > 10:
                reds.append(mean)
            sink.append(mean[0] / mean[1:].mean())
    for mean in reds:
        assert mean[0] < mean[1] and mean[0] < mean[2]
    assert np.mean(deep_ratio) < np.mean(shallow_ratio)


def test_generated_set_has_variety():
    kinds, counts, areas = set(), [], []
    for i in range(40):
        scene = make_scene(2, "train", i, 64, 64)
        animals = [L for L in scene.layers if L.is_animal]
        kinds |= {L.kind for L in animals}
        counts.append(len(animals))
        areas += [L.length / 64 for L in animals]
    assert len(kinds) >= 6
    assert min(counts) <= 1 and max(counts) >= 3
    assert min(areas) < 0.08 and max(areas) > 0.8


def test_bundled_samples_regenerate_identically(tmp_path):
    """samples/ is reproducible: the small frames are byte-identical, every mask is pixel-identical."""
    import pathlib

    from tools.synth.samples import FRAMES, QUALITY, SEED, SPLIT, frame_name

    root = pathlib.Path(__file__).resolve().parents[2] / "samples"
    assert len(FRAMES) >= 12 and sum(e for *_, e in FRAMES) >= 2
    for index, w, h, empty in FRAMES:
        stem = frame_name(index, w, h)
        with Image.open(root / "masks" / (stem + ".png")) as m:
            committed = np.asarray(m)
        assert committed.shape == (h, w) and set(np.unique(committed)) <= {0, 255}
        assert committed.any() != empty
        if w * h > 320 * 240:
            continue  # the large frames take a while; the small ones cover the code paths
        rgb, mask, _ = generate(SEED, SPLIT, index, w, h, empty_prob=1.0 if empty else 0.0)
        assert np.array_equal(mask, committed)
        Image.fromarray(rgb).save(tmp_path / "x.jpg", quality=QUALITY, optimize=False)
        assert (tmp_path / "x.jpg").read_bytes() == (root / (stem + ".jpg")).read_bytes()


def test_generate_redraws_frames_whose_animals_ended_up_invisible():
    from tools.synth import MIN_VISIBLE

    need = max(16, int(MIN_VISIBLE * 80 * 64))
    empties = redrawn = 0
    for i in range(40):
        first = make_scene(4, "train", i, 80, 64, empty_prob=0.2)
        _, mask, scene = generate(4, "train", i, 80, 64, empty_prob=0.2)
        if any(L.is_animal for L in first.layers):
            assert np.count_nonzero(mask) >= need and any(L.is_animal for L in scene.layers)
            redrawn += np.count_nonzero(render(first)[1]) < need
        else:
            empties += 1
            assert not mask.any()
    assert 2 <= empties <= 20 and redrawn >= 1  # the redraw path is exercised
