"""The newer models' colorization pipelines, for timing beside deepcolor (random weights).

Written here from the architectures described in the papers (no code or weights are
downloaded; weights are random, which time the same as trained ones):

* **ECCV16**, Zhang, Isola, Efros, "Colorful Image Colorization": a VGG-style network of
  8 convolution blocks (64, 128, 256, 512, 512 dilated 2, 512 dilated 2, 512, 256 after
  a 4x4 transposed convolution) on L at 256x256, 313 colour-bin scores, the annealed
  mean as a 1x1 convolution to ab, upsampled x4;
* **SIGGRAPH17**, Zhang, Zhu, Isola et al., "Real-Time User-Guided Image Colorization":
  the same encoder on L plus ab hints and their mask (4 channels), a U-Net decoder with
  shortcuts from blocks 3, 2 and 1, ab regressed with tanh, plus the 313-bin
  classification branch the model also computes.

Both pipelines as their authors run them: the Lab conversion of the full-resolution
image (``skimage.color.rgb2lab``), L resized to 256x256, the network, the ab output
upsampled bilinearly to full size, joined with the full-resolution L and converted back
with ``skimage.color.lab2rgb``.
"""

import numpy as np


def _block(torch_nn, cin, cout, n, *, stride_last=False, dilation=1):
    layers = []
    for i in range(n):
        stride = 2 if stride_last and i == n - 1 else 1
        layers += [torch_nn.Conv2d(cin if i == 0 else cout, cout, 3, stride=stride, padding=dilation,
                                   dilation=dilation), torch_nn.ReLU(True)]
    layers.append(torch_nn.BatchNorm2d(cout))
    return torch_nn.Sequential(*layers)


def eccv16():
    """The ECCV16 network (random weights): (N, 1, 256, 256) L -> (N, 2, 256, 256) ab."""
    import torch
    import torch.nn as nn

    class ECCV16(nn.Module):
        def __init__(self):
            super().__init__()
            self.body = nn.Sequential(
                _block(nn, 1, 64, 2, stride_last=True), _block(nn, 64, 128, 2, stride_last=True),
                _block(nn, 128, 256, 3, stride_last=True), _block(nn, 256, 512, 3),
                _block(nn, 512, 512, 3, dilation=2), _block(nn, 512, 512, 3, dilation=2), _block(nn, 512, 512, 3),
                nn.ConvTranspose2d(512, 256, 4, stride=2, padding=1), nn.ReLU(True),
                nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(True), nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(True),
                nn.Conv2d(256, 313, 1))
            self.annealed_mean = nn.Conv2d(313, 2, 1, bias=False)

        def forward(self, l):
            return torch.nn.functional.interpolate(self.annealed_mean(torch.softmax(self.body(l), dim=1)),
                                                   scale_factor=4, mode="bilinear", align_corners=False)

    return ECCV16().eval()


def siggraph17():
    """The SIGGRAPH17 network (random weights): L, ab hints, mask -> ab (and the 313-bin branch)."""
    import torch
    import torch.nn as nn

    class SIGGRAPH17(nn.Module):
        def __init__(self):
            super().__init__()
            self.b1 = _block(nn, 4, 64, 2)
            self.b2 = _block(nn, 64, 128, 2)
            self.b3 = _block(nn, 128, 256, 3)
            self.b4 = _block(nn, 256, 512, 3)
            self.b5 = _block(nn, 512, 512, 3, dilation=2)
            self.b6 = _block(nn, 512, 512, 3, dilation=2)
            self.b7 = _block(nn, 512, 512, 3)
            self.up8, self.short8 = nn.ConvTranspose2d(512, 256, 4, 2, 1), nn.Conv2d(256, 256, 3, padding=1)
            self.b8 = _block(nn, 256, 256, 2)
            self.up9, self.short9 = nn.ConvTranspose2d(256, 128, 4, 2, 1), nn.Conv2d(128, 128, 3, padding=1)
            self.b9 = _block(nn, 128, 128, 1)
            self.up10, self.short10 = nn.ConvTranspose2d(128, 128, 4, 2, 1), nn.Conv2d(64, 128, 3, padding=1)
            self.b10 = nn.Sequential(nn.LeakyReLU(0.2, True), nn.Conv2d(128, 128, 3, padding=1),
                                     nn.LeakyReLU(0.2, True))
            self.classify = nn.Conv2d(256, 313, 1)
            self.out = nn.Sequential(nn.Conv2d(128, 2, 1), nn.Tanh())
            self.pool = nn.MaxPool2d(2)  # stands for the strided first convolutions of blocks 1-3

        def forward(self, l, ab_hints, mask):
            c1 = self.b1(torch.cat([l, ab_hints, mask], dim=1))
            c2 = self.b2(self.pool(c1))
            c3 = self.b3(self.pool(c2))
            c7 = self.b7(self.b6(self.b5(self.b4(self.pool(c3)))))
            c8 = self.b8(self.up8(c7) + self.short8(c3))
            self.classify(c8)  # the classification branch runs too
            c9 = self.b9(self.up9(c8) + self.short9(c2))
            c10 = self.b10(self.up10(c9) + self.short10(c1))
            return self.out(c10)

    return SIGGRAPH17().eval()


def run_pipeline(network, rgb, *, hints=False):
    """One colorization as the authors' demo does it: full-size Lab, 256x256 network, full-size output."""
    import torch
    import torch.nn.functional as F
    from skimage.color import lab2rgb, rgb2lab
    from skimage.transform import resize

    lab = rgb2lab(rgb)
    l_full = lab[..., 0]
    l_small = resize(rgb2lab(resize(rgb, (256, 256), order=1))[..., 0], (256, 256))
    x = torch.from_numpy(l_small.astype(np.float32))[None, None]
    with torch.no_grad():
        if hints:
            ab = network(x, torch.zeros(1, 2, 256, 256), torch.zeros(1, 1, 256, 256))
        else:
            ab = network(x)
        ab = F.interpolate(ab, size=l_full.shape, mode="bilinear", align_corners=False)[0].numpy()
    out = np.concatenate([l_full[..., None], ab.transpose(1, 2, 0) * 110.0], axis=2)
    return (np.clip(lab2rgb(out), 0, 1) * 255).astype(np.uint8)
