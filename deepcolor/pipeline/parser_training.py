"""Training the grayscale scene parser (``deepcolor train-parser``).

Data: Stanford Background (``--dataset stanford``: ``train.txt`` trains, ``val.txt``
validates, 8 classes) or the original SIFT Flow download (``--dataset siftflow``: the
``SemanticLabels/*.mat`` label maps, 33 classes, ``names`` from the .mat files). Every
image is read once as release luminance (:func:`deepcolor.core.io.load_gray`) and kept in
memory with its labels; a label map whose size differs from its image is an error
naming both files.

Each sample is augmented on the fly: random rescale around the network's working scale
(``input_scale`` x 0.8..1.25), horizontal flip (vertical flips are not used: upside-down
outdoor scenes do not occur and would destroy the sky-on-top prior the row-coordinate
channel carries), random crop (padded with "unknown" when the image is smaller),
brightness/contrast and gamma jitter. Loss: cross-entropy ignoring unknown pixels,
optionally class-balanced (``--class-weights sqrt|inverse``, weights from the training
label frequencies). AdamW with a cosine learning-rate schedule over the planned epochs.

Output folder (``-o``): ``checkpoint.pt`` after every epoch (model, optimizer, epoch,
random states, history; written atomically, so a killed run resumes with ``--resume``
from the last finished epoch), ``parser.safetensors`` + ``config.json`` (latest weights),
``best.parser.safetensors`` + ``best.config.json`` (best validation pixel accuracy) and
``history.json``.
"""

import json
import os
import time

import numpy as np

CHECKPOINT_NAME = "checkpoint.pt"
DEFAULT_EPOCHS = 30


# ----------------------------------------------------------------------------- data

def dataset_records(dataset, root):
    """``(train_records, val_records or [], class_names)`` for ``stanford`` or ``siftflow``.

    Validation images come from the training data (Stanford's val list; every 10th SIFT
    Flow training image, :func:`deepcolor.data.parser_dataset`): a test list is never
    used while training.
    """
    from deepcolor import data

    if dataset == "stanford":
        root = data.resolve_data_root(root)
    elif dataset == "siftflow":
        if root is None:
            root = data.resolve_data_root(None)
        root = os.fspath(root)
    else:
        raise ValueError(f"unknown dataset {dataset!r}; choose stanford or siftflow")
    try:
        train = data.parser_dataset(dataset, root, "train")
        val = data.parser_dataset(dataset, root, "val")
    except data.DatasetError:
        if dataset != "siftflow":
            raise
        # an original download without split lists: train on everything, no validation
        base = root if os.path.isdir(os.path.join(root, "SemanticLabels")) else os.path.join(root, "SiftFlowDataset")
        train, val = data.siftflow_original(base, None), []
    if not train:
        raise ValueError(f"{root}: no training images found for dataset {dataset!r}")
    names = data.class_names(train)
    return train, val, names


def load_samples(records, num_classes=None, progress=True, desc="loading"):
    """Gray images (uint8 H, W) and label maps (uint8 H, W, 255 = unknown), checked to match."""
    from deepcolor.data import check_labels_match, load_labels
    from deepcolor.core.io import load_gray

    grays, labels = [], []
    items = records
    if progress:
        from tqdm import tqdm

        items = tqdm(records, desc=desc, unit="img", leave=False)
    for rec in items:
        gray = load_gray(rec.path)
        lab = load_labels(rec)
        check_labels_match(rec, gray.shape, lab)
        if num_classes is not None:
            bad = (lab != 255) & (lab >= num_classes)
            if bad.any():
                raise ValueError(f"{rec.label_path}: label {int(lab[bad].max())} out of range for {num_classes} classes")
        grays.append(gray)
        labels.append(lab)
    return grays, labels


def class_frequencies(labels, num_classes):
    counts = np.zeros(num_classes, np.float64)
    for lab in labels:
        counts += np.bincount(lab[lab != 255].ravel(), minlength=256)[:num_classes]
    return counts / max(counts.sum(), 1)


def class_weights(freq, mode):
    """Per-class loss weights (mean 1 over present classes) for ``none``, ``sqrt`` or ``inverse``."""
    freq = np.asarray(freq, np.float64)
    if mode == "none":
        return None
    present = freq > 0
    w = np.zeros_like(freq)
    if mode == "sqrt":
        w[present] = 1.0 / np.sqrt(freq[present])
    elif mode == "inverse":
        w[present] = 1.0 / freq[present]
    else:
        raise ValueError(f"unknown class weighting {mode!r}; choose none, sqrt or inverse")
    w[present] /= w[present].mean()
    return w


def augment(gray, label, rng, *, scale, crop, mean_gray=115.0):
    """One augmented sample ``(gray (ch, cw) float32, labels (ch, cw) uint8, crop top row, scaled height)``.

    ``scale`` is the working scale (the network's ``input_scale``); ``crop`` = (ch, cw).
    """
    import cv2

    h, w = gray.shape
    s = scale * float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
    sh, sw = max(1, int(round(h * s))), max(1, int(round(w * s)))
    g = cv2.resize(gray, (sw, sh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR).astype(np.float32)
    lab = cv2.resize(label, (sw, sh), interpolation=cv2.INTER_NEAREST)
    if rng.random() < 0.5:
        g = g[:, ::-1]
        lab = lab[:, ::-1]
    # photometric jitter: contrast, brightness, gamma
    c = rng.uniform(0.7, 1.3)
    b = rng.uniform(-25, 25)
    m = g.mean()
    g = (g - m) * c + m + b
    g = np.clip(g, 0, 255)
    gamma = float(np.exp(rng.uniform(np.log(0.8), np.log(1.25))))
    g = 255.0 * (g / 255.0) ** gamma
    ch, cw = crop
    # pad to at least the crop size (gray with the mean, labels unknown)
    ph, pw = max(0, ch - sh), max(0, cw - sw)
    if ph or pw:
        g = np.pad(g, ((0, ph), (0, pw)), constant_values=mean_gray)
        lab = np.pad(lab, ((0, ph), (0, pw)), constant_values=255)
    y0 = int(rng.integers(0, g.shape[0] - ch + 1))
    x0 = int(rng.integers(0, g.shape[1] - cw + 1))
    g = g[y0:y0 + ch, x0:x0 + cw]
    lab = lab[y0:y0 + ch, x0:x0 + cw]
    return g, lab, y0, sh


def make_batch(grays, labels, indices, rng, config, crop):
    import torch

    from deepcolor.features.scene_parser.model import make_input

    xs, ys = [], []
    for i in indices:
        g, lab, y0, sh = augment(grays[i], labels[i], rng, scale=float(config["input_scale"]), crop=crop)
        xs.append(make_input(g, config["mean"], config["std"], row_offset=y0, row_scale=1.0 / max(sh - 1, 1)))
        ys.append(lab.astype(np.int64))
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))


# ----------------------------------------------------------------------------- checkpoints

def _rng_state(rng):
    import torch

    return {"numpy": json.dumps(rng.bit_generator.state), "torch": torch.get_rng_state()}


def _set_rng_state(rng, state):
    import torch

    rng.bit_generator.state = json.loads(state["numpy"])
    torch.set_rng_state(state["torch"])


def save_checkpoint(path, state):
    import torch

    from deepcolor.core.files import atomic_write

    with atomic_write(path) as tmp:
        torch.save(state, tmp)


def load_checkpoint(path):
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path}: cannot read checkpoint: {exc}") from exc


# ----------------------------------------------------------------------------- training

def lr_at(step, total_steps, base_lr, warmup=100):
    """Linear warm-up, then cosine decay to 2% of ``base_lr``."""
    import math

    if step < warmup:
        return base_lr * (step + 1) / warmup
    t = min(1.0, (step - warmup) / max(1, total_steps - warmup))
    return base_lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * t)))


def train_step(net, optimizer, x, y, weight=None):
    """One optimization step; returns the loss (float)."""
    import torch.nn.functional as F

    net.train()
    logits = net(x)
    loss = F.cross_entropy(logits, y, weight=weight, ignore_index=255)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return float(loss.detach())


def train(
    dataset,
    root,
    out,
    *,
    epochs=None,
    batch_size=8,
    crop=(96, 128),
    lr=3e-3,
    weight_decay=1e-4,
    weighting="none",
    input_scale=0.5,
    resume=False,
    seed=0,
    threads=None,
    time_limit=None,
    max_train=None,
    val_every=1,
    progress=True,
    command=None,
    log=print,
):
    """Train a parser; see the module docstring. Returns the history (list of per-epoch dicts).

    ``val_every``: validate every that many epochs (and after the last one).
    ``time_limit`` (seconds): stop cleanly after the epoch during which it is reached
    (resume later with ``resume=True``). ``max_train``: use only the first images (tests).
    """
    import torch

    from deepcolor.core.metrics import evaluate_arrays, segmentation_metrics
    from deepcolor.features.scene_parser.model import DEFAULT_CONFIG, SceneParser, build_network, count_parameters, default_device
    from deepcolor.features.scene_parser.weights import save_parser

    if threads:
        torch.set_num_threads(int(threads))
    ckpt_path = os.path.join(out, CHECKPOINT_NAME)
    if os.path.exists(ckpt_path) and not resume:
        raise FileExistsError(f"{ckpt_path}: a training run exists here; pass --resume to continue it or choose another -o")
    if resume and not os.path.exists(ckpt_path):
        raise FileNotFoundError(f"{ckpt_path}: nothing to resume")

    train_recs, val_recs, names = dataset_records(dataset, root)
    os.makedirs(out, exist_ok=True)  # only once the data are found: a mistake leaves no empty folder
    if max_train:
        train_recs = train_recs[:max_train]
        val_recs = val_recs[: max(1, max_train // 4)] if val_recs else []
    config = dict(DEFAULT_CONFIG)
    config.update(num_classes=len(names), class_names=list(names), input_scale=float(input_scale), dataset=dataset)

    state = load_checkpoint(ckpt_path) if resume else None
    if state is not None:
        config = state["config"]
        if int(config["num_classes"]) != len(names):
            raise ValueError(
                f"{ckpt_path}: the checkpoint has {config['num_classes']} classes but the {dataset} data has {len(names)}"
            )
        hp = state["hparams"]
        epochs = int(epochs if epochs is not None else hp["epochs"])
        batch_size, crop, lr, weight_decay, weighting, seed = (
            hp["batch_size"], tuple(hp["crop"]), hp["lr"], hp["weight_decay"], hp["weighting"], hp["seed"],
        )
    elif epochs is None:
        epochs = DEFAULT_EPOCHS
    hparams = {
        "epochs": epochs, "batch_size": batch_size, "crop": list(crop), "lr": lr,
        "weight_decay": weight_decay, "weighting": weighting, "seed": seed,
    }

    grays, labels = load_samples(train_recs, len(names), progress, desc="train images")
    vgrays, vlabels = load_samples(val_recs, len(names), progress, desc="val images") if val_recs else ([], [])
    log(f"train-parser: {dataset}, {len(grays)} train / {len(vgrays)} val images, {len(names)} classes")

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = default_device()
    net = build_network(config).to(device)
    optimizer = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=weight_decay)
    freq = class_frequencies(labels, len(names))
    w = class_weights(freq, weighting)
    weight = torch.tensor(w, dtype=torch.float32, device=device) if w is not None else None
    history, start_epoch, elapsed, best = [], 0, 0.0, -1.0
    commands = [command or ""]
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        _set_rng_state(rng, state["rng"])
        history = list(state["history"])
        start_epoch = int(state["epoch"])
        elapsed = float(state["elapsed"])
        best = float(state["best"])
        commands = list(state.get("commands", [state.get("command", "")])) + [command or ""]
        log(f"train-parser: resuming after epoch {start_epoch} ({elapsed / 60:.1f} min trained so far)")
    log(f"train-parser: {count_parameters(net)} parameters on {device}, {epochs} epochs, batch {batch_size}, crop {crop[0]}x{crop[1]}")

    steps_per_epoch = max(1, len(grays) // batch_size)
    total_steps = steps_per_epoch * epochs
    session_start = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        t0 = time.perf_counter()
        order = rng.permutation(len(grays))
        losses = []
        bar = range(steps_per_epoch)
        if progress:
            from tqdm import tqdm

            bar = tqdm(bar, desc=f"epoch {epoch + 1}/{epochs}", unit="batch", leave=False)
        for k in bar:
            step = epoch * steps_per_epoch + k
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, total_steps, lr, warmup=min(100, total_steps // 10 + 1))
            idx = order[k * batch_size:(k + 1) * batch_size]
            x, y = make_batch(grays, labels, idx, rng, config, crop)
            losses.append(train_step(net, optimizer, x.to(device), y.to(device), weight))
            if progress:
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        train_time = time.perf_counter() - t0
        record = {"epoch": epoch + 1, "loss": float(np.mean(losses)), "train_seconds": round(train_time, 1)}
        parser = SceneParser(net, config, device=device)
        validate = bool(vgrays) and ((epoch + 1) % max(1, int(val_every)) == 0 or epoch + 1 == epochs)
        if validate:
            m = segmentation_metrics(evaluate_arrays(parser, vgrays, vlabels), names)
            record.update(val_pixel_accuracy=m["pixel_accuracy"], val_mean_iou=m["mean_iou"])
        net.train()
        elapsed += time.perf_counter() - t0
        record["elapsed_minutes"] = round(elapsed / 60, 2)
        history.append(record)
        score = record.get("val_pixel_accuracy", None if vgrays else -record["loss"])
        trained_config = dict(config, trained_epochs=epoch + 1)
        save_parser(out, net, trained_config)
        if score is not None and score > best:
            best = score
            save_parser(out, net, trained_config, prefix="best.")
        save_checkpoint(ckpt_path, {
            "model": net.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch + 1,
            "config": config, "hparams": hparams, "history": history, "rng": _rng_state(rng),
            "elapsed": elapsed, "best": best, "commands": commands,
        })
        with open(os.path.join(out, "history.json"), "w", encoding="utf-8") as handle:
            json.dump({"commands": commands, "hparams": hparams, "history": history}, handle, indent=2)
        msg = f"epoch {epoch + 1}/{epochs}: loss {record['loss']:.4f}"
        if "val_pixel_accuracy" in record:
            msg += f", val pixel acc {record['val_pixel_accuracy']:.4f}, mIoU {record['val_mean_iou']:.4f}"
        log(msg + f" ({train_time:.0f} s, {elapsed / 60:.1f} min total)")
        if time_limit is not None and time.perf_counter() - session_start >= time_limit and epoch + 1 < epochs:
            log(f"train-parser: time limit reached after epoch {epoch + 1}; continue with --resume")
            break
    return history
