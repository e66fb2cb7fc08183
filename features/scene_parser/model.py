"""The grayscale scene parser: a compact fully convolutional encoder-decoder.

Design (and why)
----------------
The paper's semantic feature comes from an FCN retrained on grayscale images. Here the
parser must train from scratch on a few hundred images within an hour on two CPU cores
and run in tens of milliseconds per image, so it is a small U-Net-style encoder-decoder
rather than a VGG-sized FCN:

* **Encoder** with widths 16-32-64-96 (three 2x2 max-pool downsamplings, total stride
  8): two 3x3 conv + BatchNorm + ReLU per level (a receptive field of about 70 pixels
  at the working resolution, i.e. half the height of a 160x120 working image).
* **Global context**: the deepest features are average-pooled over the whole image and
  broadcast back (as in ParseNet), which lets the network use scene-level cues
  ("this is a street scene") that a 3x3 stack alone only sees through its receptive field.
* **Decoder with skips**: bilinear upsampling, concatenation with the encoder feature
  of the same level, one 3x3 conv per level. The skips give sharp class boundaries at a
  fraction of the cost of a dilated (stride-free) network, whose full-resolution feature
  maps would be too slow on a CPU.
* **Input**: the luminance only, plus a row-coordinate channel (0 at the top, 1 at the
  bottom of the image). Outdoor photos are almost always upright and sky/road have
  strong vertical priors; a color-free parser gains a lot from stating the position
  explicitly (CoordConv) instead of inferring it from zero padding.
* **Working resolution**: the network is trained on images resized by ``input_scale``
  (0.5: Stanford Background's 320x240 become 160x120) and :meth:`SceneParser.predict`
  resizes its input by the same factor, pads to a multiple of the stride (reflect),
  runs the network, crops the padding and upsamples the class scores bilinearly back
  to the input size before the softmax. The coarse map is smoothed afterwards by an
  edge-preserving filter guided by the gray image (:mod:`deepcolor.features.semantic`), so the
  halved resolution costs little accuracy and makes the parser 4x cheaper.

The network runs on CUDA when available, else on the CPU.
"""


import numpy as np

import torch
import torch.nn as nn
import torch.nn.functional as F

from deepcolor.features._validate import check_gray as _check_gray, contiguous_gray

#: Default architecture; stored with the weights (``config.json``) so a checkpoint rebuilds itself.
DEFAULT_CONFIG = {
    "arch": "unet-coord-v1",
    "widths": [16, 32, 64, 96],
    "decoder_widths": [64, 32, 16],
    "in_channels": 2,
    "num_classes": 8,
    "input_scale": 0.5,
    "class_names": ["sky", "tree", "road", "grass", "water", "building", "mountain", "foreground"],
    # gray / 255 is normalized with these before entering the network
    "mean": 0.45,
    "std": 0.25,
}


def _conv_bn_relu(cin, cout):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class SceneParserNet(nn.Module):
    """Encoder-decoder with skips and global context; input (B, 2, H, W), H and W multiples of :attr:`stride`.

    Returns class scores (logits), shape (B, num_classes, H, W).
    """

    def __init__(self, num_classes=8, widths=(16, 32, 64, 96), decoder_widths=(64, 32, 16), in_channels=2):
        super().__init__()
        widths = list(widths)
        decoder_widths = list(decoder_widths)
        if len(decoder_widths) != len(widths) - 1:
            raise ValueError("decoder_widths must have one entry less than widths")
        self.stride = 2 ** (len(widths) - 1)
        self.encoders = nn.ModuleList()
        cin = in_channels
        for w in widths:
            self.encoders.append(nn.Sequential(_conv_bn_relu(cin, w), _conv_bn_relu(w, w)))
            cin = w
        self.context = nn.Sequential(nn.Conv2d(widths[-1], widths[-1], 1), nn.ReLU(inplace=True))
        self.fuse = _conv_bn_relu(2 * widths[-1], widths[-1])
        self.decoders = nn.ModuleList()
        cin = widths[-1]
        for skip, w in zip(reversed(widths[:-1]), decoder_widths):
            self.decoders.append(_conv_bn_relu(cin + skip, w))
            cin = w
        self.dropout = nn.Dropout2d(0.1)
        self.head = nn.Conv2d(cin, num_classes, 1)

    def forward(self, x):
        skips = []
        for i, enc in enumerate(self.encoders):
            if i:
                x = F.max_pool2d(x, 2)
            x = enc(x)
            skips.append(x)
        g = self.context(x.mean(dim=(2, 3), keepdim=True)).expand_as(x)
        x = self.fuse(torch.cat([x, g], dim=1))
        for dec, skip in zip(self.decoders, reversed(skips[:-1])):
            x = F.interpolate(x, size=skip.shape[2:], mode="bilinear", align_corners=False)
            x = dec(torch.cat([x, skip], dim=1))
        return self.head(self.dropout(x))


def build_network(config):
    """A :class:`SceneParserNet` with the architecture in ``config``."""
    return SceneParserNet(
        num_classes=int(config["num_classes"]),
        widths=config["widths"],
        decoder_widths=config["decoder_widths"],
        in_channels=int(config.get("in_channels", 2)),
    )


def make_input(gray, mean, std, row_offset=0.0, row_scale=None):
    """Network input (2, H, W) float32 from a gray image (H, W) in 0..255.

    Channel 0: normalized luminance. Channel 1: row coordinate in 0..1 of the *original*
    image (``row_offset``/``row_scale`` describe where a crop sits inside it; by default
    the image is the whole picture).
    """
    gray = np.asarray(gray, dtype=np.float32)
    h, w = gray.shape
    if row_scale is None:
        row_scale = 1.0 / max(h - 1, 1)
    rows = (np.arange(h, dtype=np.float32) + row_offset) * row_scale
    out = np.empty((2, h, w), np.float32)
    out[0] = (gray / 255.0 - mean) / std
    out[1] = rows[:, None]
    return out


def default_device():
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class SceneParser:
    """A trained parser: network + config; :meth:`predict` maps gray (H, W) to probabilities (H, W, N).

    Attributes
    ----------
    config : dict
        Architecture, ``num_classes``, ``class_names``, ``input_scale``, normalization.
    net : SceneParserNet
        In eval mode, on :attr:`device`.
    """

    def __init__(self, net, config, device=None):
        self.config = dict(config)
        self.device = torch.device(device) if device is not None else default_device()
        self.net = net.to(self.device).eval()

    @property
    def num_classes(self):
        return int(self.config["num_classes"])

    @property
    def class_names(self):
        names = self.config.get("class_names")
        return list(names) if names else [str(i) for i in range(self.num_classes)]

    @torch.no_grad()
    def working_logits(self, gray):
        """Class scores (N, h, w) at the working resolution (the input resized by ``input_scale``)."""
        gray = _gray_array(gray)
        h, w = gray.shape
        scale = float(self.config.get("input_scale", 1.0))
        work = gray
        if scale != 1.0:
            import cv2

            wh, ww = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
            work = cv2.resize(gray, (ww, wh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        x = make_input(work, self.config["mean"], self.config["std"])
        x = torch.from_numpy(x)[None].to(self.device)
        stride = self.net.stride
        wh, ww = x.shape[2:]
        ph, pw = (-wh) % stride, (-ww) % stride
        if ph or pw:
            # reflect needs pad < size; fall back to replicate for tiny images
            mode = "reflect" if ph < wh and pw < ww else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        return self.net(x)[0, :, :wh, :ww].float()

    @torch.no_grad()
    def predict_logits(self, gray):
        """Class scores (N, H, W) float32 tensor at the input resolution (before softmax)."""
        gray = _gray_array(gray)
        logits = self.working_logits(gray)
        if tuple(logits.shape[1:]) != gray.shape:
            logits = F.interpolate(logits[None], size=gray.shape, mode="bilinear", align_corners=False)[0]
        return logits

    def predict_working(self, gray):
        """Softmax probabilities (h, w, N) float32 at the working resolution (cheaper for big images)."""
        prob = torch.softmax(self.working_logits(gray), dim=0).permute(1, 2, 0).contiguous()
        return prob.cpu().numpy().astype(np.float32, copy=False)

    def predict(self, gray):
        """Per-pixel class probabilities (softmax), float32 (H, W, N), each pixel summing to 1."""
        logits = self.predict_logits(gray)
        prob = torch.softmax(logits, dim=0).permute(1, 2, 0).contiguous()
        return prob.cpu().numpy().astype(np.float32, copy=False)

    def labels(self, gray):
        """Most probable class per pixel, int64 (H, W)."""
        return self.predict_logits(gray).argmax(dim=0).cpu().numpy()


def _gray_array(gray, name="gray"):
    """:func:`deepcolor.features._validate.check_gray`, also accepting a torch tensor;
    returns C-contiguous uint8 or float32."""
    if isinstance(gray, torch.Tensor):
        gray = gray.detach().cpu().numpy()
    return contiguous_gray(_check_gray(gray, name))


def count_parameters(net):
    return sum(p.numel() for p in net.parameters())
