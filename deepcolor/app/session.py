"""One photo being colorized in the web app: the automatic result, hints, colour suggestions.

A :class:`PhotoSession` colorizes its photo once (the lookup, the networks, the
refinement: :meth:`deepcolor.pipeline.Colorizer.colorize`'s stages at the working
resolution), keeps that chroma, and answers every later request from it: the result under
a list of hints (:mod:`deepcolor.pipeline.hints`, which only re-solves the hint
propagation), and a palette of likely colours at a pixel. A model trained with ``--bins``
suggests the likeliest colours of its networks' distribution there, most likely first, with
their probabilities (:mod:`deepcolor.pipeline.distribution`), as the SIGGRAPH 2017 system
suggests colours from its network's distribution at the point; a regression model suggests
the predictions of the nearest clusters' networks there.

Hints arrive as JSON-like dicts: ``{"x": col, "y": row, "color": [r, g, b]}`` for a point
(a 3x3 block of the full-size photo, as the benchmark's hints) and ``{"points": [[x, y],
...], "color": [r, g, b], "width": px}`` for a stroke. Coordinates are full-size pixels.
"""

import io

import numpy as np

from deepcolor.core.color import CHROMA_SCALE, combine, to_gray

#: Nearest clusters whose networks suggest colours.
PALETTE_CLUSTERS = 6
#: Suggested colours closer than this (max |dU|, |dV| on the 0..255 scale) count as one.
PALETTE_MERGE = 6.0
#: A bin model suggests at most this many colours besides the automatic one ...
PALETTE_BINS = 6
#: ... each at least this likely (its bins merged as above).
PALETTE_MIN_SHARE = 0.03
#: The most hints (points plus strokes) one request may carry.
MAX_HINTS = 500


class HintError(ValueError):
    """A malformed hint list (the message says which hint and why)."""


class PhotoSession:
    """The state of one photo: see the module's notes.

    Parameters
    ----------
    colorizer : :class:`deepcolor.pipeline.Colorizer`
    image : ndarray (H, W) or (H, W, 3) uint8
    name : str, the photo's file name (for downloads)
    """

    def __init__(self, colorizer, image, name="photo"):
        self.colorizer, self.name = colorizer, name
        self.gray = to_gray(image)
        # the palette's networks run in the same pass over the features as the automatic colour's
        found = colorizer.working_chroma(self.gray, palette=self._palette_networks)
        self.work, self.auto_uv = found.work, found.uv
        self.palette_uv, self.distribution = found.palette
        self.auto = self.render([])

    def _palette_networks(self, result, gist_vector):
        """``(other networks, bin networks or None)`` for :meth:`Colorizer.working_chroma`: a bin
        model's chosen networks give their distribution; a regression model's palette
        runs the nearest clusters' networks (the lookup's candidates first, then by gist)."""
        from deepcolor.pipeline.prediction import members

        colorizer = self.colorizer
        chosen = [colorizer.network(c) for c in result.chosen]
        if all(m.bins for m in members(chosen)):
            return [], chosen
        names = [n for n, _, _ in result.candidates]
        by_name = {c.name: c for c in colorizer.clusters}
        order = names + sorted((c.name for c in colorizer.clusters if c.name not in names),
                               key=lambda n: float(np.sum((by_name[n].centre - gist_vector) ** 2)))
        return [colorizer.network(by_name[n]) for n in order[:PALETTE_CLUSTERS]], None

    @property
    def shape(self):
        return self.gray.shape

    def _marked(self, hints):
        """``(marked rgb, mask)`` at full size from the JSON hint list."""
        import cv2

        from deepcolor.pipeline.hints import points_to_hints

        if not isinstance(hints, list):
            raise HintError("hints must be a list")
        if len(hints) > MAX_HINTS:
            raise HintError(f"at most {MAX_HINTS} hints, got {len(hints)}")
        h, w = self.shape
        points, strokes = [], []
        for k, hint in enumerate(hints):
            if not isinstance(hint, dict):
                raise HintError(f"hint {k}: expected an object")
            color = hint.get("color")
            if not (isinstance(color, list) and len(color) == 3 and all(isinstance(v, (int, float)) and 0 <= v <= 255
                                                                       for v in color)):
                raise HintError(f"hint {k}: color must be [r, g, b] in 0..255")
            if "points" in hint:
                pts = hint["points"]
                if not (isinstance(pts, list) and pts and all(isinstance(p, list) and len(p) == 2 for p in pts)):
                    raise HintError(f"hint {k}: a stroke's points must be a list of [x, y]")
                width = hint.get("width", 5)
                if not isinstance(width, (int, float)) or not 1 <= width <= 200:
                    raise HintError(f"hint {k}: width must be 1..200 pixels")
                strokes.append((np.asarray(pts, dtype=np.float64), color, int(round(width))))
            else:
                x, y = hint.get("x"), hint.get("y")
                if not all(isinstance(v, (int, float)) for v in (x, y)) or not (0 <= x < w and 0 <= y < h):
                    raise HintError(f"hint {k}: x, y must be a pixel of the {w}x{h} photo")
                points.append((y, x, color))
        marked, mask = points_to_hints(self.gray, points)
        for pts, color, width in strokes:
            line = np.round(pts).astype(np.int32).reshape(-1, 1, 2)
            stroke = np.zeros(self.shape, np.uint8)
            cv2.polylines(stroke, [line], False, 255, thickness=width)
            if len(pts) == 1:
                cv2.circle(stroke, tuple(int(v) for v in line[0, 0]), max(1, width // 2), 255, -1)
            on = stroke > 0
            marked[on] = np.round(color).astype(np.uint8)
            mask |= on
        return marked, mask

    def render(self, hints, hint_weight=None):
        """The photo colorized under ``hints``: (H, W, 3) uint8 RGB."""
        from deepcolor.pipeline.colorizer import to_full_resolution
        from deepcolor.pipeline.hints import apply_hints, hint_chroma

        uv = self.auto_uv
        if hints:
            marked, mask = self._marked(hints)
            if mask.any():
                uv = apply_hints(self.work, uv, *hint_chroma(self.gray, marked, mask, self.work.shape), hint_weight)
        return to_full_resolution(self.gray, self.work, uv)

    def palette(self, x, y):
        """Likely colours at full-size pixel ``(x, y)``, the automatic one first:
        ``([[r, g, b], ...], [share, ...])``, where a share is a bin model's probability of
        the colour (its bins within :data:`PALETTE_MERGE` summed) and None for the automatic
        colour and for a regression model's suggestions."""
        h, w = self.shape
        if not (0 <= x < w and 0 <= y < h):
            raise HintError(f"({x}, {y}) is not a pixel of the {w}x{h} photo")
        wy = min(self.work.shape[0] - 1, int(y * self.work.shape[0] / h))
        wx = min(self.work.shape[1] - 1, int(x * self.work.shape[1] / w))
        luminance = self.gray[int(y), int(x)]
        candidates = [(self.auto_uv[wy, wx], None)] + [(uv[wy, wx], None) for uv in self.palette_uv]
        if self.distribution is not None:
            candidates += list(zip(*self.distribution.at(wy, wx)))
        chosen, shares = suggestions(candidates)
        colors = [combine(np.array([[luminance]], np.uint8), (v / CHROMA_SCALE)[None, None])[0, 0] for v in chosen]
        return [[int(c) for c in color] for color in colors], [None if s is None else round(s, 3) for s in shares]


def suggestions(candidates):
    """The palette's chroma from ``candidates``, a list of ``(uv (2,) U/255 V/255, share or
    None)``: the automatic colour first, then the suggestions, a bin model's likeliest first.

    A candidate within :data:`PALETTE_MERGE` of an earlier one counts as that one (a bin's
    share is added to an earlier bin's, so list the likelier first); of the rest, at most
    :data:`PALETTE_BINS` are kept, each with a share of at least :data:`PALETTE_MIN_SHARE`
    or none. Returns ``(chroma on the 0..255 scale, shares)``.
    """
    chosen, shares = [], []
    for uv, share in candidates:
        value = np.asarray(uv, dtype=np.float64) * CHROMA_SCALE
        near = [k for k, other in enumerate(chosen) if np.abs(value - other).max() <= PALETTE_MERGE]
        if not near:
            chosen.append(value)
            shares.append(None if share is None else float(share))
        elif share is not None and shares[near[0]] is not None:
            shares[near[0]] += float(share)
    # (a stable sort: suggestions without a share keep their order)
    rest = sorted((k for k in range(1, len(chosen)) if shares[k] is None or shares[k] >= PALETTE_MIN_SHARE),
                  key=lambda k: -(shares[k] or 0.0))[:PALETTE_BINS]
    keep = [0] + rest if chosen else []
    return [chosen[k] for k in keep], [shares[k] for k in keep]


def png_bytes(rgb):
    """PNG of an RGB image (fast compression: the app sends one per hint)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
