"""Colorizing videos frame by frame with temporal stability.

Colorized on its own, each frame of a video gets its own cluster lookup, and the lookup
changes between frames whenever the gist or the semantic histogram moves a little: the
colors flicker. :class:`VideoColorizer` keeps them still, with three choices (each
measured in README, "Video"):

1. **Shots.** A new shot starts at the first frame, where the gray histograms of two
   consecutive frames differ by more than ``cut_threshold`` (L1 distance of 64-bin
   histograms), or where the optical flow follows under a quarter of the frame. The
   cluster lookup (gist, semantic histogram: paper, Algorithm 2) runs once per shot, on
   its first frame; every frame of the shot is predicted by the same networks.
2. **Chroma carried along the motion.** Within a shot the previous frame's chroma is
   warped onto the current frame along the DIS optical flow from the current to the
   previous frame (:mod:`deepcolor.core.flow`), and blended with the new prediction:
   ``uv = pred + carry * confidence * (warped - pred)``. The confidence is 1 where the
   pixel is visible in both frames (forward-backward consistency) and its gray level
   agrees with the warped previous frame's, 0 elsewhere (occlusions, disocclusions,
   new objects), softened over 5x5 pixels: colors stay on their objects and what
   appears takes the network's colors, with no ghosting.
3. **At the working resolution.** Lookup, prediction, refinement, flow and blending run
   on the frame scaled to the model's ``working_size`` (400 px); the blended chroma is
   then brought to full resolution guided by the full-resolution gray frame, as for
   photos. The output keeps each frame's exact luminance.

``VideoColorizer(colorizer, VideoSettings(stabilize=False))`` colorizes every frame on
its own (:meth:`Colorizer.colorize`): the per-frame baseline of the video benchmark.

The state that carries over from frame to frame (previous gray and chroma at the
working resolution, the shot's clusters) is saved and restored by :meth:`state_arrays` /
:meth:`load_state_arrays`, so that a resumed run continues exactly where it stopped
(:mod:`deepcolor.pipeline.video_job`).
"""

import numpy as np

from deepcolor.core.color import to_gray
from deepcolor.core.settings import VideoSettings

#: Gray levels (0..255) within which the warped previous frame must match the current one
#: for its chroma to be carried (a brightness-constancy check beside the occlusion test).
PHOTOMETRIC_TOLERANCE = 20
#: Histogram bins of the cut detector.
CUT_BINS = 64
#: Under this fraction of the frame followed by the flow, a new shot starts.
MIN_FOLLOWED = 0.25


def gray_histogram(gray):
    """Normalized 64-bin histogram of a uint8 gray frame: (64,) float64, sums to 1."""
    counts = np.bincount((np.asarray(gray, dtype=np.uint8) >> 2).ravel(), minlength=CUT_BINS)
    return counts / max(1, counts.sum())


class VideoColorizer:
    """Colorize the frames of one video in order, with temporal stability.

    Parameters
    ----------
    colorizer : :class:`deepcolor.pipeline.Colorizer`
    settings : :class:`deepcolor.core.settings.VideoSettings`, default its defaults

    Attributes
    ----------
    frames : int, frames colorized so far
    shots : list of int, the first frame of every shot so far
    """

    def __init__(self, colorizer, settings=None):
        self.colorizer = colorizer
        self.settings = settings or VideoSettings()
        self._by_name = {c.name: c for c in colorizer.all_clusters}
        self.reset()

    def reset(self):
        """Forget the previous frames: the next frame starts a shot."""
        self.frames = 0
        self.shots = []
        self._previous_gray = None
        self._previous_uv = None
        self._shot_clusters = None
        self._descriptors = None  # running averages of gist and semantic histogram (smoothed lookup)

    # -- state --------------------------------------------------------------------------

    def state_arrays(self):
        """What the next frame depends on, as a dict of numpy arrays (for ``np.savez``)."""
        state = {"frames": np.array(self.frames), "shots": np.array(self.shots, dtype=np.int64)}
        if self._previous_gray is not None:
            state["previous_gray"] = self._previous_gray
            state["previous_uv"] = self._previous_uv
            state["shot_clusters"] = np.array(self._shot_clusters or [], dtype=str)
        if self._descriptors is not None:
            state["lookup_gist"] = self._descriptors[0]
            if self._descriptors[1] is not None:
                state["lookup_histogram"] = self._descriptors[1]
        return state

    def load_state_arrays(self, state):
        """Continue from :meth:`state_arrays` (as loaded by ``np.load``)."""
        self.reset()
        self.frames = int(state["frames"])
        self.shots = [int(s) for s in state["shots"]]
        if "previous_gray" in state:
            self._previous_gray = np.asarray(state["previous_gray"], dtype=np.uint8)
            self._previous_uv = np.asarray(state["previous_uv"], dtype=np.float32)
            names = [str(n) for n in state["shot_clusters"]]
            unknown = [n for n in names if n not in self._by_name]
            if unknown:
                raise ValueError(f"the saved video state names clusters this model lacks: {', '.join(unknown)}")
            self._shot_clusters = names
        if "lookup_gist" in state:
            self._descriptors = (np.asarray(state["lookup_gist"]), np.asarray(state["lookup_histogram"])
                                 if "lookup_histogram" in state else None)

    # -- colorization -------------------------------------------------------------------

    def _motion(self, work):
        """``(cut, backward flow, confidence)`` of the working-size frame against the previous one."""
        import cv2

        from deepcolor.core.flow import backward_flow_and_mask, warp

        previous = self._previous_gray
        if previous is None or previous.shape != work.shape:
            return True, None, None
        if np.abs(gray_histogram(work) - gray_histogram(previous)).sum() > self.settings.cut_threshold:
            return True, None, None
        backward, visible = backward_flow_and_mask(work, previous)
        agrees = np.abs(warp(previous, backward).astype(np.int16) - work) <= PHOTOMETRIC_TOLERANCE
        followed = visible & agrees
        if followed.mean() < MIN_FOLLOWED:
            return True, None, None
        confidence = cv2.blur(followed.astype(np.float32), (5, 5))
        return False, backward, confidence

    def _lookup(self, work, probs):
        """The clusters' names for this frame (see ``VideoSettings.lookup``)."""
        from deepcolor.features import gist, semantic_histogram

        g = np.asarray(gist(work), dtype=np.float32)
        h = semantic_histogram(probs) if probs is not None else None
        if self.settings.lookup == "smoothed":
            if self._descriptors is None:
                self._descriptors = (g, h)
            else:
                m = self.settings.lookup_memory
                g = m * self._descriptors[0] + (1 - m) * g
                h = None if h is None else m * self._descriptors[1] + (1 - m) * h
                self._descriptors = (g, h)
        result = self.colorizer.select(work, probs, g, h)
        return [cluster.name for cluster in result.chosen]

    def colorize_frame(self, image, return_info=False):
        """The next frame, colorized: (H, W, 3) uint8 RGB with the frame's luminance.

        Parameters
        ----------
        image : ndarray (H, W) uint8 gray or (H, W, 3) uint8 RGB (converted to gray)
        return_info : bool
            Also return a dict: ``cut`` (a shot starts here), ``clusters`` and
            ``followed`` (mean confidence of the carried chroma).
        """
        from deepcolor.core.flow import warp
        from deepcolor.core.refine import refine_chroma
        from deepcolor.pipeline.colorizer import to_full_resolution, working_image

        c = self.colorizer
        gray = to_gray(image)
        if not self.settings.stabilize:
            rgb, info = c.colorize(gray, return_info=True)
            self.frames += 1
            return (rgb, {"cut": True, "clusters": info["blend"], "followed": 0.0}) if return_info else rgb
        work = working_image(gray, c.settings.working_size)
        cut, backward, confidence = self._motion(work)
        probs = None
        if c.semantic:
            from deepcolor.features import semantic_probabilities

            probs = semantic_probabilities(work, c.parser)
        if cut or self._shot_clusters is None:
            self.shots.append(self.frames)
            self._descriptors = None
            cut = True
        if cut or self.settings.lookup != "shot":
            self._shot_clusters = self._lookup(work, probs)
        networks = [c.network(self._by_name[name]) for name in self._shot_clusters]
        uv = refine_chroma(work, c.network_chroma(networks, work, probs), c.refine)
        del probs
        followed = 0.0
        if not cut and self.settings.carry > 0:
            weight = (self.settings.carry * confidence)[..., None]
            uv += weight * (warp(self._previous_uv, backward) - uv)
            followed = float(confidence.mean())
        self._previous_gray, self._previous_uv = work, uv
        self.frames += 1
        rgb = to_full_resolution(gray, work, uv)
        if not return_info:
            return rgb
        return rgb, {"cut": cut, "clusters": list(self._shot_clusters), "followed": followed}

    def colorize_frames(self, frames):
        """Yield every frame of the iterable ``frames`` colorized (see :meth:`colorize_frame`)."""
        for frame in frames:
            yield self.colorize_frame(frame)
