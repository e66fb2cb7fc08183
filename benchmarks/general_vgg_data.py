"""How ``general-vgg``'s kind of model grows with its training photos, and whether more kinds
of object count for more than more photos of the same kinds, on held-out images of the
test's kind (``general_deep_layers.py``'s split; no test list is read).

    python benchmarks/general_vgg_data.py --data ROOT --model MODEL --train-every 4 \\
        --deep-file vgg345.npy --whole 600 -o general_vgg_data.json

One network (relu4_3 + relu5_3 through the PCA to 128, input dropout 0.4, 5 epochs), fitted
with the plain squared error and with each image weighted by 1 / (its chroma energy + 0.004),
is trained on a part of the study's training images:

* every 4th and every 2nd of them, and all (how the scores grow with the photos);
* half the kinds of object: every 2nd class of the general sources that have classes
  (Imagenette, Imagewoof, Caltech-101, ...) with all its photos, and every 2nd photo of
  everything else, about as many photos as "every 2nd" with half the classes.

If the scores rise steadily with the photos, and halving the classes costs more than halving
the photos, more kinds of object are what the general target needs.
"""

import sys
import time

import numpy as np

import _common  # noqa: F401  (sets OMP_WAIT_POLICY before torch starts OpenMP)
from choose_clusters import image_class
from general_vgg_capacity import held_out_study, image_weight_rows, imagenet_row, vgg_rows


def parts_of(ho):
    """``{name: boolean mask over the study's training images}``."""
    n = len(ho.train)
    position = np.arange(n)
    classes = [image_class(ho.tset.names[i]) for i in ho.train]
    kept = set(sorted({c for c in classes if c})[::2])
    half_classes = np.array([c in kept if c else p % 2 == 0 for p, c in zip(position, classes)])
    return {"every 4th photo": position % 4 == 0, "every 2nd photo": position % 2 == 0,
            "half the classes": half_classes, "all photos": np.ones(n, bool)}


def study(ho, deep, dims, log):
    from deepcolor.networks import train_network

    log("fitting the PCA on a tenth of the training pixels")  # on all of them: every part reads the same inputs
    part, sub, held = vgg_rows(ho, deep, dims)
    targets = ho.targets[ho.sub_rows]
    per_train = len(sub) // len(ho.train)  # the sub rows come image by image, the same count each
    weight = image_weight_rows(ho, 0.004)
    rows, networks = [], {}
    for label, images in parts_of(ho).items():
        chosen = np.repeat(images, per_train)
        classes = {image_class(ho.tset.names[i]) for i in np.asarray(ho.train)[images]} - {None}
        log(f"{label}: {int(images.sum())} photos, {len(classes)} classes")
        for fitting, weighted in (("plain loss", False), ("images weighted 1/(energy + 0.004)", True)):
            name = f"{label}, {fitting}"
            start = time.perf_counter()
            network = train_network(sub[chosen], targets[chosen], epochs=5, seed=0, device="cpu", dropout=0.4,
                                    sample_weight=weight[chosen] if weighted else None)
            log(f"  {name}: {time.perf_counter() - start:.0f} s")
            rows.append(imagenet_row(ho, name, network.predict(held), log, photos=int(images.sum()),
                                     classes=len(classes), weighted=weighted))
            networks[name] = (network, part)
    return rows, networks


def main(argv=None):
    return held_out_study(__doc__, argv, lambda p: None,
                          lambda args, ho, deep, dims, log, result: study(ho, deep, dims, log))


if __name__ == "__main__":
    sys.exit(main())
