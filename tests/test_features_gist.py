"""Gist (LMgist port) against a slow, straightforward transcription of LMgist.m."""

import math

import numpy as np
import pytest
from scipy import ndimage

from deepcolor import features
from deepcolor.features import lmgist as gist_mod


# ----------------------------------------------------------------------------- reference
def ref_contributions(in_len, out_len):
    """MATLAB imresize 'bilinear' weights, one output pixel at a time (1-based maths)."""
    scale = out_len / in_len
    kernel_width = 2.0
    if scale < 1:
        h = lambda x: scale * max(0.0, 1 - abs(scale * x))  # noqa: E731
        kernel_width /= scale
    else:
        h = lambda x: max(0.0, 1 - abs(x))  # noqa: E731
    aux = list(range(1, in_len + 1)) + list(range(in_len, 0, -1))
    rows = []
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - kernel_width / 2)
        P = math.ceil(kernel_width) + 2
        idx = [left + p for p in range(P)]
        wts = [h(u - i) for i in idx]
        s = sum(wts)
        rows.append([(aux[(i - 1) % len(aux)] - 1, wt / s) for i, wt in zip(idx, wts)])
    return rows


def ref_imresize(img, out_shape):
    h, w = img.shape
    oh, ow = out_shape
    tmp = np.zeros((oh, w))
    for y, contrib in enumerate(ref_contributions(h, oh)):
        for i, wt in contrib:
            tmp[y] += wt * img[i]
    out = np.zeros((oh, ow))
    for x, contrib in enumerate(ref_contributions(w, ow)):
        for i, wt in contrib:
            out[:, x] += wt * tmp[:, i]
    return out


def ref_imresizecrop(img, M=256):
    scaling = max(M / img.shape[0], M / img.shape[1])
    newsize = [int(round(img.shape[0] * scaling)), int(round(img.shape[1] * scaling))]
    img = ref_imresize(img, newsize)
    sr = (newsize[0] - M) // 2
    sc = (newsize[1] - M) // 2
    return img[sr : sr + M, sc : sc + M]


def ref_prefilt(img, fc=4):
    w = 5
    s1 = fc / math.sqrt(math.log(2))
    img = np.log(img + 1)
    img = np.pad(img, w, mode="symmetric")
    sn = img.shape[0]
    n = sn + sn % 2
    img = np.pad(img, ((0, n - sn), (0, n - sn)), mode="symmetric")
    fx, fy = np.meshgrid(np.arange(-n / 2, n / 2), np.arange(-n / 2, n / 2))
    gf = np.fft.fftshift(np.exp(-(fx**2 + fy**2) / s1**2))
    output = img - np.real(np.fft.ifft2(np.fft.fft2(img) * gf))
    localstd = np.sqrt(np.abs(np.fft.ifft2(np.fft.fft2(output**2) * gf)))
    output = output / (0.2 + localstd)
    return output[w : sn - w, w : sn - w]


def ref_create_gabor(ors, n):
    param = []
    for i in range(1, len(ors) + 1):
        for j in range(1, ors[i - 1] + 1):
            param.append([0.35, 0.3 / (1.85 ** (i - 1)), 16 * ors[i - 1] ** 2 / 32**2, math.pi / ors[i - 1] * (j - 1)])
    fx, fy = np.meshgrid(np.arange(-n / 2, n / 2), np.arange(-n / 2, n / 2))
    fr = np.fft.fftshift(np.sqrt(fx**2 + fy**2))
    t = np.fft.fftshift(np.angle(fx + 1j * fy))
    G = np.zeros((n, n, len(param)))
    for i, p in enumerate(param):
        tr = t + p[3]
        tr = tr + 2 * math.pi * (tr < -math.pi) - 2 * math.pi * (tr > math.pi)
        G[:, :, i] = np.exp(-10 * p[0] * (fr / n / p[1] - 1) ** 2 - 2 * p[2] * math.pi * tr**2)
    return G


def ref_down_n(x, N):
    nx = np.fix(np.linspace(0, x.shape[0], N + 1)).astype(int)
    ny = np.fix(np.linspace(0, x.shape[1], N + 1)).astype(int)
    y = np.zeros((N, N))
    for xx in range(N):
        for yy in range(N):
            y[xx, yy] = x[nx[xx] : nx[xx + 1], ny[yy] : ny[yy + 1]].mean()
    return y


def ref_lmgist(gray):
    img = ref_imresizecrop(np.asarray(gray, dtype=np.float64), 256)
    img = img - img.min()
    img = 255 * img / img.max()
    output = ref_prefilt(img, 4)
    be = 32
    G = ref_create_gabor([8, 8, 8, 8], 256 + 2 * be)
    padded = np.pad(output, be, mode="symmetric")
    F = np.fft.fft2(padded)
    g = []
    for n in range(G.shape[2]):
        ig = np.abs(np.fft.ifft2(F * G[:, :, n]))
        ig = ig[be:-be, be:-be]
        v = ref_down_n(ig, 4)
        g.extend(v.ravel(order="F"))  # MATLAB reshape(v, [W N]): column-major
    return np.array(g)


def make_image(h, w, seed=0):
    rng = np.random.default_rng(seed)
    img = ndimage.gaussian_filter(rng.random((h, w)) * 255, 2.0)
    y, x = np.mgrid[0:h, 0:w]
    img = img + 60 * np.sin(x / 5.0) * (y > h / 2)  # some oriented structure
    img = (img - img.min()) / (img.max() - img.min()) * 255
    return np.rint(img).astype(np.uint8)


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("shape", [(48, 64), (256, 256), (70, 40)])
def test_gist_matches_reference(shape):
    gray = make_image(*shape, seed=shape[0])
    g = features.gist(gray)
    assert g.shape == (512,) and g.dtype == np.float32
    ref = ref_lmgist(gray)
    assert np.max(np.abs(g - ref)) <= 1e-5 * np.max(np.abs(ref))
    assert np.allclose(g, ref, rtol=1e-4, atol=1e-7)


def test_gist_layout_orientation():
    # vertical stripes (intensity varying along x): energy in the filters whose pass band
    # lies on the fx axis, orientation 0 of each scale (angle 0 + pi j / 8 at j = 0)
    x = np.arange(256)
    gray = np.tile(128 + 100 * np.sin(2 * np.pi * x / 16), (256, 1))
    g = features.gist(gray).reshape(4, 8, 16)  # scale, orientation, block
    energy = g.mean(axis=2)
    assert np.all(np.argmax(energy, axis=1)[:2] == 0)
    # layout: index = 16 * filter + 4 * block_col + block_row; a structure confined to
    # the left column of blocks shows up in entries 0..3 of each filter
    left = np.full((256, 256), 128.0)
    left[:, :64] = 128 + 100 * np.sin(2 * np.pi * x[:64] / 8)[None, :]
    gl = features.gist(left).reshape(32, 4, 4)  # filter, block_col, block_row
    assert gl[0, 0].mean() > 5 * gl[0, 3].mean()


def test_gist_determinism_scale_invariance_constant():
    gray = make_image(100, 120, seed=5)
    g = features.gist(gray)
    assert np.array_equal(g, features.gist(gray))
    # the intensities are stretched to 0..255 first
    assert np.allclose(features.gist(gray.astype(np.float64) / 255.0), g, rtol=1e-5, atol=1e-7)
    assert np.array_equal(features.gist(np.full((30, 30), 9, np.uint8)), np.zeros(512, np.float32))


@pytest.mark.parametrize("in_len, out_len", [(10, 10), (7, 23), (64, 256), (300, 256), (517, 256), (5, 2)])
def test_imresize_matches_matlab_formula(in_len, out_len):
    rng = np.random.default_rng(in_len)
    img = rng.random((in_len, 9)) * 255
    ours = gist_mod.imresize_bilinear(img, (out_len, 9))
    ref = ref_imresize(img, (out_len, 9))
    assert np.allclose(ours, ref, atol=1e-9)


def test_imresizecrop_shape_and_identity():
    img = np.random.default_rng(0).random((256, 256))
    assert np.array_equal(gist_mod.imresizecrop(img), img)
    assert gist_mod.imresizecrop(np.ones((100, 300))).shape == (256, 256)
    assert np.allclose(gist_mod.imresizecrop(np.full((100, 300), 3.0)), 3.0)


def test_gabor_bank_matches_reference():
    ours = gist_mod.create_gabor((8, 8, 8, 8), 64)
    ref = ref_create_gabor([8, 8, 8, 8], 64)
    assert ours.shape == (32, 64, 64)
    assert np.allclose(ours, np.moveaxis(ref, 2, 0), rtol=1e-6, atol=1e-30)


@pytest.mark.parametrize("shape, out_shape", [((30, 50), (64, 40)), ((50, 30), (20, 70)), ((300, 410), (256, 350))])
def test_imresize_2d_both_axes(shape, out_shape):
    img = np.random.default_rng(1).random(shape) * 255
    ours = gist_mod.imresize_bilinear(img, out_shape)
    assert ours.shape == out_shape
    assert np.allclose(ours, ref_imresize(img, out_shape), atol=1e-9)


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (5, 3), (12, 900)])
def test_gist_tiny_and_elongated_images(shape):
    gray = (np.random.default_rng(2).random(shape) * 255).astype(np.uint8)
    g = features.gist(gray)
    assert g.shape == (512,) and g.dtype == np.float32 and np.all(np.isfinite(g))
