"""The per-cluster colorization network: a small fully connected regressor.

Architecture (paper, section "Network"): input D = 81 + N (7x7 patch, DAISY, semantic
probabilities), three hidden layers of D/2 ReLU units, two linear outputs U/255 and V/255,
squared-error loss.

Training choices (ours; the paper only says "back-propagation"):

* inputs standardized with the training set's per-feature mean and standard deviation,
  stored with the weights so prediction applies the same transform;
* Adam (lr 3e-3, betas 0.9/0.999, no weight decay), minibatches of 2048, the learning rate
  following a cosine from lr to lr/20 over 10 epochs. A short schedule is enough: on 240
  SIFT Flow images (240 000 samples) batch 1024 / 12 epochs / lr 2e-3, batch 4096 / 12 / 4e-3,
  batch 2048 / 16 / 3e-3 and batch 4096 / 24 / 4e-3 all gave 24.06..24.08 dB on held-out
  test images (final training MSE 0.00303..0.00324), so the cheapest setting wins;
* the mean squared error of each epoch (over the training samples, in (U/255, V/255)
  units) is kept in :attr:`ChromaNetwork.history` and stored in the model's JSON;
* seeded: weights from ``torch.manual_seed(seed)``, minibatch order from a seeded
  generator; on CPU with a fixed thread count two runs give identical weights.

Two options (ours, off by default, chosen for the general-photo model on held-out images,
``benchmarks/general_vgg_fitting.py``): ``dropout`` drops that share of the standardized
inputs while training (inverted dropout, so prediction is unchanged), and
:func:`image_weights` weights each image's samples by the inverse of its chroma energy, which
fits the mean over images of the per-image PSNR that benchmarks report rather than the
squared error pooled over all pixels (a nearly gray photo's few chroma errors cost it many dB).

A third option (ours, off by default): ``bins`` K replaces the two linear outputs by K
logits over chroma bins, fitted by cross-entropy and read back by an annealed mean at
``temperature`` (:mod:`deepcolor.networks.bins`).

Weights are stored as safetensors (no pickle); the configuration and loss curve as JSON
in the safetensors metadata, a bin network's centres as one more tensor.
"""

import json
import math
import os

import numpy as np

from deepcolor.core.settings import ColorizeSettings, TrainSettings
from deepcolor.networks.bins import annealed_mean, chroma_bins, nearest_bins


def hidden_units(input_dim):
    """D/2 hidden units per layer (at least 2)."""
    return max(2, int(input_dim) // 2)


def count_weights(input_dim, hidden=None, layers=3, outputs=2):
    """N_w, the number of trainable parameters of one network (weights + biases)."""
    hidden = hidden or hidden_units(input_dim)
    n = input_dim * hidden + hidden
    n += (layers - 1) * (hidden * hidden + hidden)
    n += hidden * outputs + outputs
    return int(n)


def default_device():
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def image_weights(targets, counts, offset):
    """Sample weights that make each image count by its per-image PSNR.

    Parameters
    ----------
    targets : ndarray (n, 2) float, U/255 and V/255 of the samples, image after image
    counts : sequence of int, the samples of each image (summing to n)
    offset : float > 0, added to each image's energy: bounds the weight of a gray image

    Returns
    -------
    ndarray (n,) float64 : ``1 / (e + offset)`` for every sample of an image, ``e`` the mean
        of its samples' U^2 and V^2 (the squared error of predicting gray)
    """
    targets = np.asarray(targets, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.int64)
    if counts.sum() != targets.shape[0] or offset <= 0:
        raise ValueError(f"need counts summing to {targets.shape[0]} and offset > 0, got {counts.sum()} and {offset}")
    image = np.repeat(np.arange(counts.size), counts)
    energy = np.bincount(image, (targets ** 2).sum(axis=1), counts.size) / np.maximum(2 * counts, 1)
    return 1.0 / (energy[image] + offset)


def _build(input_dim, hidden, layers=3, outputs=2):
    import torch.nn as nn

    modules = []
    width = input_dim
    for _ in range(layers):
        modules += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    modules.append(nn.Linear(width, outputs))
    return nn.Sequential(*modules)


def fit_loss(out, y, w=None, centres=None):
    """The training loss of a minibatch: the squared error of U, V (the paper's), or with bin
    ``centres`` (K, 2) the cross-entropy of the logits ``out`` against each target's nearest
    bin; each sample's term times ``w`` (scaled to mean 1) when given."""
    import torch

    if centres is None:
        err = (out - y) ** 2
        return err.mean() if w is None else (w[:, None] * err).mean()
    terms = torch.nn.functional.cross_entropy(out, nearest_bins(y, centres), reduction="none")
    return terms.mean() if w is None else (w * terms).mean()


def check_bins(bins, temperature):
    """Refuse a bin count of 1 (0 is the regression) or a temperature <= 0."""
    if bins and (int(bins) < 2 or not temperature > 0):
        raise ValueError(f"need bins >= 2 (or 0: regression) and temperature > 0, got {bins} and {temperature}")


def fitted_form(net, dropout):
    """The module trained: ``net`` behind a dropout of its inputs when ``dropout`` > 0 (the
    same parameters; ``net`` alone is stored and predicts)."""
    import torch.nn as nn

    return nn.Sequential(nn.Dropout(dropout), *net) if dropout > 0 else net


class ChromaNetwork:
    """A trained network with its input standardization.

    Attributes
    ----------
    input_dim, hidden, layers : int
    mean, std : ndarray, shape (input_dim,), float32
    history : list of float
        Training loss per epoch: MSE (U/255, V/255 units), or a bin network's cross-entropy.
    config : dict
        Training settings (epochs, batch, lr, seed, samples).
    centres : ndarray (bins, 2) float32 or None
        A bin network's chroma bins (its outputs are their logits); None: a regressor.
    temperature : float
        The annealed mean's temperature a bin network is read with.
    """

    def __init__(self, net, mean, std, history=(), config=None, device="cpu", centres=None, temperature=1.0):
        import torch

        self.net = net
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self.history = [float(h) for h in history]
        self.config = dict(config or {})
        self.device = device
        linears = [m for m in net if hasattr(m, "weight")]
        self.input_dim = int(linears[0].weight.shape[1])
        self.hidden = int(linears[0].weight.shape[0])
        self.layers = len(linears) - 1
        self.outputs = int(linears[-1].weight.shape[0])
        self.centres = None if centres is None else np.asarray(centres, dtype=np.float32)
        self.temperature = float(temperature)
        if (self.centres is None and self.outputs != 2) or \
                (self.centres is not None and self.centres.shape != (self.outputs, 2)):
            raise ValueError(f"a network with {self.outputs} outputs needs {self.outputs} bin centres")
        self._centres = None if centres is None else torch.from_numpy(self.centres).to(device)

    @property
    def bins(self):
        """The number of chroma bins (0: a regressor of U, V)."""
        return 0 if self.centres is None else self.outputs

    @property
    def num_weights(self):
        return count_weights(self.input_dim, self.hidden, self.layers, self.outputs)

    def at_temperature(self, temperature):
        """This bin network read at another ``temperature`` (the same weights)."""
        if self.centres is None or not temperature > 0:
            raise ValueError("only a bin network has a temperature, and it must be > 0")
        return ChromaNetwork(self.net, self.mean, self.std, self.history, self.config, self.device, self.centres,
                             temperature)

    def predict(self, feats, batch=65536):
        """U/255, V/255 for each row of ``feats`` (n, D) -> (n, 2) float32."""
        if self._centres is None:
            return self._run(feats, batch, 2, lambda y: y)
        return self._run(feats, batch, 2, lambda y: annealed_mean(y, self._centres, self.temperature))

    def distribution(self, feats, batch=65536):
        """A bin network's probability of each bin for each row of ``feats`` (n, D) -> (n, bins)
        float32: the distribution it was fitted to (the softmax of its logits), whatever
        temperature it is read at. The bins' chroma is :attr:`centres`."""
        import torch

        if self._centres is None:
            raise ValueError("only a bin network (trained with --bins) predicts a distribution over colours")
        return self._run(feats, batch, self.outputs, lambda y: torch.softmax(y, dim=1))

    def predict_with_distribution(self, feats, batch=65536):
        """A bin network's :meth:`predict` and :meth:`distribution` side by side from one run
        of the network: (n, 2 + bins) float32, each part equal to what the call alone gives."""
        import torch

        if self._centres is None:
            raise ValueError("only a bin network (trained with --bins) predicts a distribution over colours")
        return self._run(feats, batch, 2 + self.outputs, lambda y: torch.cat(
            [annealed_mean(y, self._centres, self.temperature), torch.softmax(y, dim=1)], dim=1))

    def _run(self, feats, batch, width, read):
        """``read`` of the outputs for each row of ``feats`` (n, D) -> (n, width) float32, batch by batch."""
        import torch

        feats = np.asarray(feats, dtype=np.float32)
        if feats.ndim != 2 or feats.shape[1] != self.input_dim:
            raise ValueError(f"features must have shape (n, {self.input_dim}), got {feats.shape}")
        out = np.empty((feats.shape[0], width), dtype=np.float32)
        mean = torch.from_numpy(self.mean).to(self.device)
        std = torch.from_numpy(self.std).to(self.device)
        self.net.eval()
        with torch.no_grad():
            for start in range(0, feats.shape[0], batch):
                x = torch.from_numpy(np.ascontiguousarray(feats[start:start + batch])).to(self.device)
                out[start:start + batch] = read(self.net((x - mean) / std)).cpu().numpy()
        return out

    # -- storage ---------------------------------------------------------------------------
    def state(self):
        """Tensors to store: the layers' weights and the standardization."""
        tensors = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        import torch

        tensors["input_mean"] = torch.from_numpy(self.mean.copy())
        tensors["input_std"] = torch.from_numpy(self.std.copy())
        if self.centres is not None:
            tensors["bin_centres"] = torch.from_numpy(self.centres.copy())
        return tensors

    def metadata(self):
        meta = {
            "input_dim": self.input_dim,
            "hidden": self.hidden,
            "layers": self.layers,
            "history": self.history,
            "config": self.config,
        }
        if self.centres is not None:
            meta.update(bins=self.outputs, temperature=self.temperature)
        return meta

    def save(self, path):
        """Write ``path`` (.safetensors) atomically; metadata goes in its header as JSON."""
        from safetensors.torch import save_file

        from deepcolor.core.files import atomic_write

        with atomic_write(path) as tmp:
            save_file(self.state(), tmp, metadata={"deepcolor": json.dumps(self.metadata())})

    @classmethod
    def load(cls, path, device=None):
        from safetensors import safe_open
        from safetensors.torch import load_file

        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: network file not found")
        try:
            with safe_open(path, framework="pt") as handle:
                meta = json.loads((handle.metadata() or {}).get("deepcolor", "{}"))
            tensors = load_file(path)
        except Exception as exc:  # safetensors raises its own error type for cut-short or garbled files
            raise ValueError(f"{path}: cannot read the network file ({exc}); it is damaged or cut short") from None
        if not isinstance(meta, dict) or not meta or "input_mean" not in tensors:
            raise ValueError(f"{path}: not a deepcolor network file")
        if not all(bool(t.isfinite().all()) for t in tensors.values() if t.is_floating_point()):
            raise ValueError(f"{path}: the network holds non-finite weights; it is damaged")
        device = device or default_device()
        state = {k: v for k, v in tensors.items() if k not in ("input_mean", "input_std", "bin_centres")}
        try:
            bins = int(meta.get("bins", 0))
            net = _build(int(meta["input_dim"]), int(meta["hidden"]), int(meta["layers"]), bins or 2)
            net.load_state_dict(state)
            centres = tensors["bin_centres"].numpy() if bins else None
            temperature = float(meta.get("temperature", 1.0))
            if bins and not temperature > 0:
                raise ValueError(f"temperature {temperature}")
            net.to(device)
            return cls(net, tensors["input_mean"].numpy(), tensors["input_std"].numpy(),
                       meta.get("history", ()), meta.get("config"), device, centres, temperature)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(f"{path}: the network's shapes do not match its header ({exc}); it is damaged") from None


def standardization(feats, chunk=262144):
    """Per-feature mean and standard deviation (std floored at 1e-6), float32.

    Accumulated in float64 over row chunks, so memory stays at one chunk beyond ``feats``
    (a full float64 copy of a 3.5 M x 89 training set would take 2.5 GB).
    """
    feats = np.asarray(feats)
    n = feats.shape[0]
    total = np.zeros(feats.shape[1], np.float64)
    for start in range(0, n, chunk):
        total += feats[start:start + chunk].sum(axis=0, dtype=np.float64)
    mean = total / max(n, 1)
    sq = np.zeros(feats.shape[1], np.float64)
    for start in range(0, n, chunk):
        d = feats[start:start + chunk].astype(np.float64) - mean
        sq += (d * d).sum(axis=0)
    std = np.sqrt(sq / max(n, 1))
    std = np.where(std < 1e-6, 1.0, std)
    return mean.astype(np.float32), std.astype(np.float32)


def train_network(feats, targets, *, hidden=None, layers=3, epochs=TrainSettings.epochs,
                  batch_size=TrainSettings.batch_size, lr=TrainSettings.lr, seed=0, device=None, progress=None,
                  sample_weight=None, dropout=0.0, bins=0, temperature=ColorizeSettings.temperature):
    """Train one network on ``feats`` (n, D) -> ``targets`` (n, 2): by least squares, or with
    ``bins`` as a classifier over chroma bins.

    Parameters
    ----------
    feats : ndarray (n, D) float
    targets : ndarray (n, 2) float, U/255 and V/255
    hidden : int, default D // 2
    epochs, batch_size, lr, seed : training settings (see module docstring)
    device : "cpu" / "cuda" / None (CUDA when available)
    progress : callable(epoch, loss), optional
    sample_weight : ndarray (n,) float, optional
        A non-negative weight per sample in the squared error, scaled to mean 1 (None: all
        equal, the paper's loss); :func:`image_weights` gives the per-image PSNR's.
    dropout : float in [0, 1), share of the inputs dropped while training (0: none, the paper's)
    bins : int, 0 (the paper's two outputs) or >= 2: logits over that many k-means chroma
        bins of ``targets``, fitted by cross-entropy (:mod:`deepcolor.networks.bins`)
    temperature : float > 0, the annealed mean's temperature a bin network is read with

    Returns
    -------
    ChromaNetwork
    """
    import torch

    feats = np.ascontiguousarray(feats, dtype=np.float32)
    targets = np.ascontiguousarray(targets, dtype=np.float32)
    if feats.ndim != 2 or targets.shape != (feats.shape[0], 2):
        raise ValueError(f"need feats (n, D) and targets (n, 2), got {feats.shape} and {targets.shape}")
    if feats.shape[0] == 0:
        raise ValueError("no training samples")
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, dtype=np.float64)
        if weights.shape != (feats.shape[0],) or not np.all(np.isfinite(weights)) or weights.min() < 0 \
                or weights.sum() <= 0:
            raise ValueError(f"sample_weight must be {feats.shape[0]} finite non-negative numbers, not all 0")
        weights = weights / weights.mean()
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    check_bins(bins, temperature)
    device = device or default_device()
    n, dim = feats.shape
    hidden = hidden or hidden_units(dim)
    mean, std = standardization(feats)
    centres = chroma_bins(targets, bins, seed) if bins else None
    centres_t = None if centres is None else torch.from_numpy(centres).to(device)

    torch.manual_seed(seed)
    net = _build(dim, hidden, layers, bins or 2).to(device)
    fitted = fitted_form(net, dropout)
    x_all = np.empty_like(feats)
    for start in range(0, n, 262144):
        x_all[start:start + 262144] = (feats[start:start + 262144] - mean) / std
    x_all = torch.from_numpy(x_all).to(device)
    y_all = torch.from_numpy(targets).to(device)
    w_all = None if weights is None else torch.from_numpy(weights.astype(np.float32)).to(device)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    batch_size = max(1, min(int(batch_size), n))
    steps_per_epoch = math.ceil(n / batch_size)
    total = max(1, epochs * steps_per_epoch)
    min_lr = lr / 20.0
    gen = torch.Generator().manual_seed(seed)
    history = []
    step = 0
    fitted.train()
    for epoch in range(epochs):
        order = torch.randperm(n, generator=gen).to(device)
        total_loss = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            for group in opt.param_groups:
                group["lr"] = min_lr + 0.5 * (lr - min_lr) * (1 + math.cos(math.pi * step / total))
            loss = fit_loss(fitted(x_all[idx]), y_all[idx], None if w_all is None else w_all[idx], centres_t)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total_loss += float(loss.detach()) * idx.shape[0]
            step += 1
        history.append(total_loss / n)
        if progress is not None:
            progress(epoch, history[-1])
    net.eval()
    config = {"epochs": int(epochs), "batch_size": int(batch_size), "lr": float(lr), "min_lr": float(min_lr),
              "optimizer": "adam", "schedule": "cosine", "seed": int(seed), "samples": int(n)}
    if weights is not None:
        config["sample_weight"] = True
    if dropout:
        config["dropout"] = float(dropout)
    if bins:
        config["loss"] = "cross-entropy"
    return ChromaNetwork(net, mean, std, history, config, device, centres, temperature)
