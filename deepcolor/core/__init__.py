"""The bottom layer: the release's color space, image I/O, metrics, chroma refinement,
color hints, settings and file helpers. Imports nothing else of deepcolor."""
