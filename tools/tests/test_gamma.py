"""Gamma branch and integer pre-processing (docs/NUMERICS.md section 7)."""
import math

import numpy as np
import pytest

from tools.dualsam.gamma import MEAN, STD, gamma_lut, gamma_of, gray_u8, preprocess, resize_u8


def _resize_reference(img, oh, ow):
    """Per-pixel transcription of NUMERICS 7.3, independent of the vectorised implementation."""
    H, W = img.shape[:2]

    def taps(x, src, dst):
        num, den = (2 * x + 1) * src - dst, 2 * dst
        if num < 0:
            x0, f = 0, 0
        else:
            x0 = num // den
            f = ((num - x0 * den) * 2048 + den // 2) // den
        if x0 >= src - 1:
            x0, f = src - 1, 0
        return x0, min(x0 + 1, src - 1), f

    out = np.zeros((oh, ow) + img.shape[2:], dtype=np.uint8)
    for y in range(oh):
        y0, y1, fy = taps(y, H, oh)
        for x in range(ow):
            x0, x1, fx = taps(x, W, ow)
            acc = ((2048 - fy) * (2048 - fx) * img[y0, x0].astype(np.int64)
                   + (2048 - fy) * fx * img[y0, x1].astype(np.int64)
                   + fy * (2048 - fx) * img[y1, x0].astype(np.int64)
                   + fy * fx * img[y1, x1].astype(np.int64))
            out[y, x] = (acc + (1 << 21)) >> 22
    return out


@pytest.mark.parametrize("shape,out", [((13, 17, 3), (8, 8)), ((5, 4, 3), (11, 9)), ((7, 7), (3, 12))])
def test_resize_matches_per_pixel_spec(shape, out):
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    assert np.array_equal(resize_u8(img, *out), _resize_reference(img, *out))


def test_resize_identity_and_constant():
    img = np.random.default_rng(1).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    assert np.array_equal(resize_u8(img, 20, 30), img)
    const = np.full((33, 21, 3), 201, dtype=np.uint8)
    assert (resize_u8(const, 64, 64) == 201).all()


def test_resize_close_to_opencv_geometry():
    cv2 = pytest.importorskip("cv2")
    img = np.random.default_rng(2).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    ours = resize_u8(img, 64, 64).astype(int)
    theirs = cv2.resize(img, (64, 64), interpolation=cv2.INTER_LINEAR).astype(int)
    assert np.abs(ours - theirs).max() <= 1   # OpenCV's SIMD path rounds in two passes


def test_gray_formula():
    px = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [10, 20, 30]]], dtype=np.uint8)
    assert gray_u8(px).tolist() == [[(4899 * 255 + 8192) >> 14, (9617 * 255 + 8192) >> 14,
                                     (1868 * 255 + 8192) >> 14, (4899 * 10 + 9617 * 20 + 1868 * 30 + 8192) >> 14]]


def test_gamma_and_lut():
    mid = np.full((4, 4, 3), 128, dtype=np.uint8)
    g = gamma_of(mid)
    assert g == pytest.approx(math.log(0.5) / math.log(128 / 255))
    dark = np.full((4, 4, 3), 30, dtype=np.uint8)
    lut = gamma_lut(gamma_of(dark))
    assert lut[0] == 0 and lut[255] == 255 and lut[30] == 128   # mean maps to mid-gray (rounded)
    assert np.all(np.diff(lut.astype(int)) >= 0) and lut[100] > 100   # dark frames are brightened
    assert gamma_lut(1.0).tolist() == list(range(256))
    black = np.zeros((2, 2, 3), dtype=np.uint8)
    assert math.isfinite(gamma_of(black))   # mean clamped to 1


def test_preprocess_outputs():
    frame = np.random.default_rng(3).integers(0, 120, (45, 60, 3), dtype=np.uint8)
    a, b, lut, resized, gam = preprocess(frame, 32)
    assert a.shape == b.shape == (1, 3, 32, 32) and a.dtype == np.float32
    assert resized.shape == (32, 32, 3) and np.array_equal(gam, lut[resized])
    assert np.array_equal(lut, gamma_lut(gamma_of(frame)))   # gamma from the full-size frame
    expect = (resized[5, 7].astype(np.float32) - MEAN) / STD
    assert np.array_equal(a[0, :, 5, 7], expect)
    assert np.array_equal(b[0, :, 5, 7], (gam[5, 7].astype(np.float32) - MEAN) / STD)


def test_preprocess_rejects_bad_input():
    with pytest.raises(ValueError):
        preprocess(np.zeros((4, 4), dtype=np.uint8), 8)
    with pytest.raises(ValueError):
        preprocess(np.zeros((4, 4, 3), dtype=np.float32), 8)
