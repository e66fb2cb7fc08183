import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from deepcolor.core.metrics import accuracy_curve, auc, colorfulness, psnr, ssim


def _pair(seed=0, noise=20):
    rng = np.random.default_rng(seed)
    gt = rng.integers(0, 256, (48, 40, 3), dtype=np.uint8)
    pred = np.clip(gt.astype(int) + rng.integers(-noise, noise + 1, gt.shape), 0, 255).astype(np.uint8)
    return gt, pred


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_psnr_equals_scikit_image(seed):
    gt, pred = _pair(seed)
    assert psnr(gt, pred) == pytest.approx(peak_signal_noise_ratio(gt, pred, data_range=255), abs=1e-10)


def test_psnr_known_value_and_identity():
    gt = np.zeros((4, 4, 3), np.uint8)
    pred = np.full((4, 4, 3), 10, np.uint8)
    assert psnr(gt, pred) == pytest.approx(10 * np.log10(255**2 / 100))
    assert psnr(gt, gt) == float("inf")


def test_psnr_rejects_mismatch():
    with pytest.raises(ValueError, match="differ in size"):
        psnr(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        psnr(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)))


def test_auc_perfect_is_one():
    gt, _ = _pair()
    assert auc(gt, gt) == pytest.approx(1.0)


def test_accuracy_curve_hand_made():
    # errors 0, 10, 200: at threshold t the fraction within is 1/3 (t<10), 2/3 (10<=t<=150)
    curve = accuracy_curve([0.0, 10.0, 200.0])
    assert curve[0] == pytest.approx(1 / 3)
    assert curve[9] == pytest.approx(1 / 3)
    assert curve[10] == pytest.approx(2 / 3)
    assert curve[150] == pytest.approx(2 / 3)
    expected = (10 * (1 / 3) + 141 * (2 / 3)) / 151
    assert np.mean(curve) == pytest.approx(expected)


def test_auc_of_gray_on_saturated_red_is_low():
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    gray = np.repeat(np.rint(red.astype(float) @ [0.299, 0.587, 0.114]).astype(np.uint8)[..., None], 3, axis=2)
    # pure red has chroma ~ 100 in Lab ab, so only thresholds above it count
    assert 0.2 < auc(red, gray) < 0.5


def test_colorfulness():
    gray = np.full((8, 8, 3), 128, np.uint8)
    assert colorfulness(gray) == 0.0
    red = np.zeros((8, 8, 3), np.uint8)
    red[..., 0] = 255
    # rg = 255, yb = 127.5, no spread: M = 0.3 * hypot(255, 127.5)
    assert colorfulness(red) == pytest.approx(0.3 * np.hypot(255, 127.5))


def test_ssim_range():
    gt, pred = _pair()
    assert ssim(gt, gt) == pytest.approx(1.0)
    assert 0 < ssim(gt, pred) < 1
