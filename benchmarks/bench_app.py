"""How fast the web app answers: opening a photo, and each update under hints, over HTTP.

    python benchmarks/bench_app.py [--size 512] [--repeat 5] [--model NAME_OR_DIR]

Starts ``deepcolor serve``'s application (uvicorn, in this process's thread) on a free
port with the shipped default model (or ``--model``), uploads scikit-image's ``astronaut`` resized to
``--size`` x ``--size``, then times whole HTTP round trips (request, hint propagation,
full-resolution chroma, PNG encoding, response) as the page makes them: the automatic
result, then 1, 2, 5, 10 and 20 point hints and a stroke, and the palette at a point (a bin
model's likeliest colours, or the nearest clusters' networks). Then, in process, a photo
session opened (the automatic colour, the palette's networks or distribution, the first
render) against the automatic colour alone (``Colorizer.working_chroma``), its reference.
Prints medians over ``--repeat`` runs, measured in this run on this machine.
"""

import argparse
import io
import json
import socket
import sys
import threading
import time
import urllib.request

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--model", default=None, help="a shipped model's name or a model folder (default: the default)")
    args = p.parse_args(argv)

    import skimage.data
    import uvicorn
    from PIL import Image

    from deepcolor.app.server import make_app
    from deepcolor.pipeline import Colorizer

    image = Image.fromarray(skimage.data.astronaut()).resize((args.size, args.size), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    colorizer = Colorizer.load(args.model)  # the server's, and the in-process reference's below
    server = uvicorn.Server(uvicorn.Config(make_app(colorizer), host="127.0.0.1", port=port,
                                           log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"

    def post(path, data, content_type="application/octet-stream"):
        request = urllib.request.Request(url + path, data=data, method="POST")
        request.add_header("Content-Type", content_type)
        t0 = time.perf_counter()
        with urllib.request.urlopen(request, timeout=300) as response:
            body = response.read()
        return body, time.perf_counter() - t0

    rng = np.random.default_rng(0)
    cases = {"automatic (0 hints)": []}
    for n in (1, 2, 5, 10, 20):
        cases[f"{n} point hint(s)"] = [{"x": int(x), "y": int(y), "color": [int(c) for c in rng.integers(0, 256, 3)]}
                                      for x, y in rng.integers(0, args.size, (n, 2))]
    cases["1 stroke"] = [{"points": [[40, 60], [200, 80], [300, 200]], "color": [30, 90, 220], "width": 8}]
    opens, palettes, times = [], [], {name: [] for name in cases}
    for _ in range(args.repeat):
        body, seconds = post("/api/photos?name=astronaut.png", buffer.getvalue())
        opens.append(seconds)
        key = json.loads(body)["id"]
        for name, hints in cases.items():
            _, seconds = post(f"/api/photos/{key}/render", json.dumps({"hints": hints}).encode(), "application/json")
            times[name].append(seconds)
        t0 = time.perf_counter()
        with urllib.request.urlopen(f"{url}/api/photos/{key}/palette?x={args.size // 3}&y={args.size // 2}",
                                    timeout=300) as response:
            offered = len(json.loads(response.read())["colors"])
        palettes.append(time.perf_counter() - t0)
    server.should_exit = True
    # the reference, in the same run: the automatic colour alone, without the palette's networks
    # (the session computes both from one pass over the features)
    from deepcolor.app.session import PhotoSession
    from deepcolor.core.color import to_gray

    rgb = np.asarray(image)
    alone, session = [], []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        colorizer.working_chroma(to_gray(rgb))
        alone.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        PhotoSession(colorizer, rgb)
        session.append(time.perf_counter() - t0)
    print(f"astronaut {args.size}x{args.size}, model {args.model or 'default'}, HTTP round trips, "
          f"medians of {args.repeat}")
    print(f"  open (upload, colorize, palette networks or distribution): {np.median(opens):.3f} s")
    print(f"  in process: a photo session opened (automatic colour, palette, first render) {np.median(session):.3f} s, "
          f"against the automatic colour alone "
          f"{np.median(alone):.3f} s (ratio {np.median(session) / np.median(alone):.2f})")
    print(f"  palette at a point: {np.median(palettes):.3f} s ({offered} colours)")
    for name, values in times.items():
        print(f"  update, {name:20s} {np.median(values):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
