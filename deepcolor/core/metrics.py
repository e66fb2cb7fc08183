"""Colorization quality metrics, on 8-bit RGB images of the same size.

- :func:`psnr`: the paper's protocol (release ``qx_psnr.m``): PSNR over all three RGB
  channels with peak 255, identical to
  ``skimage.metrics.peak_signal_noise_ratio(gt, pred, data_range=255)``.
- :func:`ssim`: mean structural similarity over RGB (scikit-image, default window).
- :func:`auc`: raw accuracy of Zhang, Isola, Efros (ECCV 2016): the fraction of pixels
  whose Lab ab error is within a threshold, swept over 0..150, area normalized to 1.
- :func:`colorfulness`: Hasler & Suesstrunk (2003), computed on the prediction alone.
"""

import numpy as np

AUC_THRESHOLDS = np.arange(0, 151)


def _check_pair(gt, pred):
    gt = np.asarray(gt)
    pred = np.asarray(pred)
    for name, im in (("gt", gt), ("pred", pred)):
        if im.dtype != np.uint8 or im.ndim != 3 or im.shape[2] != 3:
            raise ValueError(f"{name} must be (H, W, 3) uint8 RGB, got {im.dtype} {im.shape}")
    if gt.shape != pred.shape:
        raise ValueError(f"gt and pred differ in size: {gt.shape} vs {pred.shape}")
    if gt.size == 0:
        raise ValueError("images are empty")
    return gt, pred


def psnr(gt, pred):
    """PSNR in dB of 8-bit RGB ``pred`` against ``gt`` over all three channels.

    Parameters
    ----------
    gt, pred : ndarray, shape (H, W, 3), uint8

    Returns
    -------
    float
        ``10 log10(255^2 / MSE)``; ``inf`` when the images are identical.
    """
    gt, pred = _check_pair(gt, pred)
    mse = np.mean((gt.astype(np.float64) - pred.astype(np.float64)) ** 2)
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(255.0**2 / mse))


def ssim(gt, pred):
    """Mean SSIM over the RGB channels (scikit-image defaults, ``data_range=255``).

    Images smaller than the 7x7 window use the largest odd window that fits.
    """
    from skimage.metrics import structural_similarity

    gt, pred = _check_pair(gt, pred)
    win = min(7, *(s - (1 - s % 2) for s in gt.shape[:2]))
    if win < 3:
        return float("nan")
    return float(structural_similarity(gt, pred, data_range=255, channel_axis=2, win_size=win))


def ab_errors(gt, pred):
    """Per-pixel Euclidean distance between the Lab ab of ``gt`` and ``pred``: (H*W,) float64."""
    from skimage.color import rgb2lab

    gt, pred = _check_pair(gt, pred)
    ab_gt = rgb2lab(gt)[..., 1:]
    ab_pred = rgb2lab(pred)[..., 1:]
    return np.sqrt(np.sum((ab_gt - ab_pred) ** 2, axis=-1)).ravel()


def accuracy_curve(errors, thresholds=AUC_THRESHOLDS):
    """Fraction of ``errors`` that are <= each threshold."""
    errors = np.sort(np.asarray(errors, dtype=np.float64).ravel())
    if errors.size == 0:
        raise ValueError("no errors to build an accuracy curve from")
    return np.searchsorted(errors, thresholds, side="right") / errors.size


def auc(gt, pred):
    """Raw-accuracy AuC (Zhang et al. 2016): mean over thresholds 0..150 of the fraction of
    pixels whose ab error is within the threshold. 1.0 for a perfect prediction."""
    return float(np.mean(accuracy_curve(ab_errors(gt, pred))))


def colorfulness(rgb):
    """Hasler & Suesstrunk (2003) colorfulness of an 8-bit RGB image (0 for a gray image).

    ``M = sqrt(std_rg^2 + std_yb^2) + 0.3 sqrt(mean_rg^2 + mean_yb^2)`` with
    ``rg = R - G`` and ``yb = (R + G) / 2 - B``.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.size == 0:
        raise ValueError(f"rgb must be non-empty (H, W, 3) uint8, got {rgb.dtype} {rgb.shape}")
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg = r - g
    yb = 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def all_metrics(gt, pred):
    """``{"psnr", "ssim", "auc", "colorfulness"}`` of one prediction."""
    return {
        "psnr": psnr(gt, pred),
        "ssim": ssim(gt, pred),
        "auc": auc(gt, pred),
        "colorfulness": colorfulness(pred),
    }


# --------------------------------------------------------------------------- scene parsing

#: Label of unknown / unlabeled pixels in label maps, ignored by the parser's scores.
UNKNOWN = 255


def confusion_matrix(labels, predicted, num_classes):
    """(N, N) int64 counts, rows = true class, columns = predicted; label 255 ignored.

    Raises ValueError when a true label is neither a class nor 255.
    """
    labels = np.asarray(labels).ravel()
    predicted = np.asarray(predicted).ravel()
    if labels.shape != predicted.shape:
        raise ValueError(f"labels and predictions differ in size: {labels.size} vs {predicted.size}")
    keep = labels != UNKNOWN
    labels = labels[keep].astype(np.int64)
    predicted = predicted[keep].astype(np.int64)
    if labels.size and labels.max() >= num_classes:
        raise ValueError(f"label {labels.max()} out of range for {num_classes} classes")
    return np.bincount(labels * num_classes + predicted, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def segmentation_metrics(confusion, class_names=None):
    """Pixel accuracy, mean class accuracy, per-class IoU and mean IoU from a confusion matrix.

    Classes absent from both ground truth and predictions get IoU ``None`` and are left
    out of the mean.
    """
    c = np.asarray(confusion, dtype=np.float64)
    n = c.shape[0]
    names = list(class_names) if class_names else [str(i) for i in range(n)]
    tp = np.diag(c)
    gt = c.sum(axis=1)
    pred = c.sum(axis=0)
    union = gt + pred - tp
    total = c.sum()
    iou = {}
    acc = {}
    for k in range(n):
        iou[names[k]] = float(tp[k] / union[k]) if union[k] > 0 else None
        acc[names[k]] = float(tp[k] / gt[k]) if gt[k] > 0 else None
    valid_iou = [v for v in iou.values() if v is not None]
    valid_acc = [v for v in acc.values() if v is not None]
    return {
        "pixel_accuracy": float(tp.sum() / total) if total else 0.0,
        "mean_class_accuracy": float(np.mean(valid_acc)) if valid_acc else 0.0,
        "mean_iou": float(np.mean(valid_iou)) if valid_iou else 0.0,
        "per_class_iou": iou,
        "per_class_accuracy": acc,
        "pixels": int(total),
    }


def evaluate_arrays(parser, grays, labels, progress=False):
    """Confusion matrix of ``parser`` over in-memory gray images and their label maps."""
    n = parser.num_classes
    conf = np.zeros((n, n), np.int64)
    items = zip(grays, labels)
    if progress:
        from tqdm import tqdm

        items = tqdm(items, total=len(grays), desc="eval", unit="img", leave=False)
    for gray, lab in items:
        conf += confusion_matrix(lab, parser.labels(gray), n)
    return conf


def chroma_warping_error(current, previous, backward, visible):
    """Temporal instability of a colorized video at one frame (Lai et al. 2018, on chroma).

    The mean squared difference of U/255 and V/255 between ``current`` (frame t) and
    ``previous`` (frame t-1) warped onto frame t along ``backward`` (the flow from frame
    t to t-1, computed on the ground truth's gray frames), over the pixels ``visible`` in
    both (:func:`deepcolor.core.flow.backward_flow_and_mask`). Averaged over a sequence's
    consecutive pairs, this is the video benchmark's warping error.

    Parameters
    ----------
    current, previous : ndarray (H, W, 3) uint8 RGB
    backward : ndarray (H, W, 2) float32
    visible : ndarray (H, W) bool

    Returns
    -------
    float (nan when no pixel is visible)
    """
    from deepcolor.core.color import chroma_of
    from deepcolor.core.flow import warp

    current, previous = _check_pair(current, previous)
    if backward.shape != current.shape[:2] + (2,) or visible.shape != current.shape[:2]:
        raise ValueError(f"flow {backward.shape} and mask {visible.shape} must match the frames {current.shape}")
    if not visible.any():
        return float("nan")
    diff = chroma_of(current) - warp(chroma_of(previous), backward)
    return float((diff[visible] ** 2).sum(-1).mean() / 2)
