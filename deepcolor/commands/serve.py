"""``deepcolor serve``: colorize photos in the browser and correct them with colour hints."""

import sys

from deepcolor.commands.common import CommandError, add_command_parser

EPILOG = """\
examples:
  deepcolor serve                       # then open http://127.0.0.1:8000 in a browser
  deepcolor serve old_photo.jpg         # the page offers this photo, besides uploads
  deepcolor serve --port 9000 --model my-model/
  deepcolor serve --host 0.0.0.0        # reachable from other machines (a warning is printed)

In the page: open a photo (upload), see the automatic result, click a point to add a
colour hint (the nearest clusters' networks suggest colours there; click one to use it)
or switch to 'stroke' and paint; undo, reset, side by side, download. Each browser tab
works on its own photo. Nothing is written to disk.
"""


def register(subparsers):
    p = add_command_parser(
        subparsers, "serve", EPILOG,
        help="a local web app: colorize a photo and correct it with colour hints",
        description="Serve a web page that colorizes photos and bends the result to colour hints "
                    "(deepcolor-hints: the SIGGRAPH 2017 setting with this paper's model).",
    )
    p.add_argument("photo", nargs="?", metavar="PHOTO", help="a photo the page can open without uploading it")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--model", metavar="DIR", help="model directory (default: the shipped model)")
    p.add_argument("--max-upload-mb", type=float, default=25.0, metavar="MB", help="largest upload (default: 25)")
    p.add_argument("--max-megapixels", type=float, default=40.0, metavar="MP",
                   help="largest photo in megapixels (default: 40)")
    p.add_argument("--max-sessions", type=int, default=8, metavar="N",
                   help="photos (browser tabs) kept open at once; the least recently used is dropped (default: 8)")
    p.set_defaults(func=run_command)


def run_command(args):
    import os

    if not 0 < args.port < 65536:
        raise CommandError(f"--port must be 1..65535, got {args.port}")
    if args.max_upload_mb <= 0 or args.max_megapixels <= 0 or args.max_sessions < 1:
        raise CommandError("--max-upload-mb, --max-megapixels and --max-sessions must be positive")
    if args.photo:
        from deepcolor.core.io import load_rgb

        load_rgb(args.photo)  # a clear error now rather than in the page
    try:
        import uvicorn

        from deepcolor.app.server import make_app
    except ImportError as exc:
        raise CommandError(f"the web app needs starlette and uvicorn ({exc}); pip install starlette uvicorn") from None
    from deepcolor.pipeline import Colorizer

    colorizer = Colorizer.load(args.model)
    app = make_app(colorizer, max_upload_bytes=int(args.max_upload_mb * 2 ** 20),
                   max_pixels=int(args.max_megapixels * 1e6), max_sessions=args.max_sessions,
                   photo=os.path.abspath(args.photo) if args.photo else None)
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"deepcolor serve: warning: listening on {args.host}: anyone who can reach this machine can use "
              "the app (and its CPU); there is no login", file=sys.stderr)
    print(f"deepcolor serve: open http://{'127.0.0.1' if args.host == '0.0.0.0' else args.host}:{args.port} "
          "(Ctrl-C stops)", file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0
