"""``deepcolor serve``: a local web app to colorize a photo and correct it with colour hints.

Built on Starlette (the ASGI toolkit FastAPI is made of; a few routes need no more) served by
uvicorn. The page (``static/index.html``, plain JavaScript, no build step) sends the photo's
bytes once, then the whole hint list with every change; the server answers with the
result as a PNG, so undo and reset are the page dropping hints, and the server keeps no
history.

Every browser tab opens its own photo session (an unguessable id held by the page, not a
cookie, so two tabs never share an image); the most recently used ``max_sessions`` stay in
memory. Nothing is written to disk: uploads are decoded in memory and results streamed
back. Limits: the upload's size (``413``) and the image's pixel count (``400``, checked
before decoding), each with a message the page shows; a file that is not an image is
refused with its reason.
"""

import collections
import json
import os
import secrets
import threading
import time

from deepcolor.app.session import HintError, PhotoSession, png_bytes

STATIC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "static")


class PhotoStore:
    """The open photo sessions, most recently used last; the oldest beyond ``limit`` are dropped."""

    def __init__(self, limit):
        self.limit = limit
        self._sessions = collections.OrderedDict()
        self._lock = threading.Lock()

    def add(self, session):
        key = secrets.token_urlsafe(16)
        with self._lock:
            self._sessions[key] = session
            while len(self._sessions) > self.limit:
                self._sessions.popitem(last=False)
        return key

    def get(self, key):
        with self._lock:
            session = self._sessions.get(key)
            if session is not None:
                self._sessions.move_to_end(key)
            return session


def make_app(colorizer, *, max_upload_bytes=25 * 2 ** 20, max_pixels=40_000_000, max_sessions=8, photo=None):
    """The Starlette application.

    Parameters
    ----------
    colorizer : :class:`deepcolor.pipeline.Colorizer`
    max_upload_bytes, max_pixels : int, the limits of an uploaded photo
    max_sessions : int, photo sessions kept in memory
    photo : str, optional, a photo every new tab may open without uploading it
    """
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.responses import FileResponse, JSONResponse, Response
    from starlette.routing import Route

    from deepcolor.core.io import ImageReadError, decode_image, load_rgb

    store = PhotoStore(max_sessions)
    compute = threading.Lock()  # one colorization at a time: the model's caches are not thread-safe

    def error(status, message):
        return JSONResponse({"error": message}, status_code=status)

    def opened(session):
        key = store.add(session)
        return JSONResponse({"id": key, "name": session.name, "width": session.shape[1], "height": session.shape[0]})

    def new_session(image, name):
        with compute:
            t0 = time.perf_counter()
            session = PhotoSession(colorizer, image, name)
            session.seconds = time.perf_counter() - t0
        return session

    async def index(request):
        return FileResponse(os.path.join(STATIC, "index.html"), media_type="text/html")

    async def config(request):
        return JSONResponse({"max_upload_bytes": max_upload_bytes, "max_pixels": max_pixels,
                             "preloaded": os.path.basename(photo) if photo else None})

    async def upload(request):
        name = request.query_params.get("name", "photo") or "photo"
        if "/" in name or "\\" in name or name.startswith(".") or "\0" in name or len(name) > 255:
            return error(400, f"{name!r}: a file name, not a path (no '/', '\\', leading '.' or NUL)")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > max_upload_bytes:
            return error(413, f"{name}: {int(declared) / 2 ** 20:.1f} MB is over the {max_upload_bytes / 2 ** 20:g} "
                              "MB upload limit")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_upload_bytes:
                return error(413, f"{name}: over the {max_upload_bytes / 2 ** 20:g} MB upload limit")
        if not body:
            return error(400, f"{name}: empty upload")
        try:
            image = decode_image(bytes(body), name, max_pixels=max_pixels)
        except ImageReadError as exc:
            return error(400, str(exc))
        return opened(await run_in_threadpool(new_session, image, name))

    async def open_preloaded(request):
        if not photo:
            return error(404, "no photo was given to 'deepcolor serve'")

        try:
            image = load_rgb(photo)
        except ImageReadError as exc:
            return error(400, str(exc))
        return opened(await run_in_threadpool(new_session, image, os.path.basename(photo)))

    def session_of(request):
        session = store.get(request.path_params["key"])
        if session is None:
            raise LookupError("this photo is no longer open on the server (too many tabs, or the server "
                              "restarted); open it again")
        return session

    async def image(request):
        try:
            session = session_of(request)
        except LookupError as exc:
            return error(404, str(exc))
        kind = request.path_params["kind"]
        if kind == "gray":
            from deepcolor.core.color import gray_to_rgb

            return Response(png_bytes(gray_to_rgb(session.gray)), media_type="image/png")
        if kind == "auto":
            return Response(png_bytes(session.auto), media_type="image/png",
                            headers={"X-Seconds": f"{getattr(session, 'seconds', 0.0):.3f}"})
        return error(404, f"no image {kind!r}")

    async def render(request):
        try:
            session = session_of(request)
            payload = json.loads(await request.body() or b"{}")
        except LookupError as exc:
            return error(404, str(exc))
        except ValueError:
            return error(400, "the request is not JSON")
        hints = payload.get("hints", []) if isinstance(payload, dict) else None

        def work():
            with compute:
                t0 = time.perf_counter()
                rgb = session.render(hints)
                return rgb, time.perf_counter() - t0

        try:
            rgb, seconds = await run_in_threadpool(work)
        except HintError as exc:
            return error(400, str(exc))
        return Response(png_bytes(rgb), media_type="image/png", headers={"X-Seconds": f"{seconds:.3f}"})

    async def palette(request):
        try:
            session = session_of(request)
            x, y = float(request.query_params["x"]), float(request.query_params["y"])
            colors, shares = session.palette(x, y)
            return JSONResponse({"colors": colors, "shares": shares})
        except LookupError as exc:
            return error(404, str(exc))
        except (KeyError, ValueError) as exc:
            return error(400, str(exc) if isinstance(exc, HintError) else "palette needs numbers x and y")

    routes = [
        Route("/", index),
        Route("/api/config", config),
        Route("/api/photos", upload, methods=["POST"]),
        Route("/api/photos/preloaded", open_preloaded, methods=["POST"]),
        Route("/api/photos/{key}/{kind}.png", image),
        Route("/api/photos/{key}/render", render, methods=["POST"]),
        Route("/api/photos/{key}/palette", palette),
    ]
    return Starlette(routes=routes)
