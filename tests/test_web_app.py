"""``deepcolor serve``: the HTTP API, and the page driven in a real browser (Debian's chromium by Playwright).

The browser tests skip where chromium or Playwright is missing, naming what to install;
``.ci/run`` installs both and sets ``DEEPCOLOR_REQUIRE_BROWSER=1``, which turns the skip
into a failure there.
"""

import io
import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("starlette", reason="the web app needs starlette (pip install starlette uvicorn)")
uvicorn = pytest.importorskip("uvicorn", reason="the web app needs uvicorn (pip install starlette uvicorn)")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]


def photo(h=96, w=128, seed=0):
    """Sky over grass with a red house: a small photo with regions to hint."""
    rng = np.random.default_rng(seed)
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2] = (100, 160, 225)
    img[h // 2:] = (70, 150, 60)
    img[h // 3: 2 * h // 3, w // 3: w // 2] = (180, 50, 40)
    return np.clip(img + rng.integers(-5, 6, img.shape), 0, 255).astype(np.uint8)


def png(rgb):
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    return buffer.getvalue()


def _serve(app, folder):
    """Run ``app`` on a free port in a thread: yields the server's dict, and checks on exit
    that the app wrote nothing into ``folder``."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    instance = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not instance.started and time.time() < deadline:
        time.sleep(0.05)
    assert instance.started, "the server did not start"
    before = set(os.listdir(folder))
    yield {"url": f"http://127.0.0.1:{port}", "folder": folder}
    instance.should_exit = True
    thread.join(10)
    assert set(os.listdir(folder)) == before  # the app wrote nothing


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from deepcolor.app.server import make_app
    from deepcolor.pipeline import Colorizer

    folder = tmp_path_factory.mktemp("serve")
    preloaded = folder / "preloaded.png"
    preloaded.write_bytes(png(photo(seed=1)))
    app = make_app(Colorizer.load(), max_upload_bytes=200_000, max_pixels=300 * 300, max_sessions=3,
                   photo=str(preloaded))
    yield from _serve(app, folder)


@pytest.fixture(scope="module")
def bin_server(tmp_path_factory, trained):
    """The app on a small model trained with ``--bins 8`` (two networks): its palette reads
    the networks' distribution over colours."""
    from deepcolor.app.server import make_app
    from deepcolor.cli import main
    from deepcolor.pipeline import Colorizer

    folder = tmp_path_factory.mktemp("serve-bins")
    model = str(folder / "model")
    assert main(["train", "--dataset", "folder", "--folder", trained["images"], "-o", model, "--clusters", "1",
                 "--max-layers", "1", "--samples", "100", "--epochs", "3", "--bins", "8", "--ensemble", "2",
                 "--parser", str(trained["base"] / "parser"), "--cache", str(trained["base"] / "cache"),
                 "--quiet"]) == 0
    yield from _serve(make_app(Colorizer.load(model), max_upload_bytes=200_000, max_pixels=300 * 300), folder)


def call(url, data=None, method=None, content_type=None):
    request = urllib.request.Request(url, data=data, method=method or ("POST" if data is not None else "GET"))
    if content_type:
        request.add_header("Content-Type", content_type)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def upload(server, rgb, name="p.png"):
    status, body, _ = call(f"{server['url']}/api/photos?name={name}", png(rgb))
    assert status == 200, body
    return json.loads(body)


def render(server, key, hints):
    status, body, headers = call(f"{server['url']}/api/photos/{key}/render", json.dumps({"hints": hints}).encode(),
                                 content_type="application/json")
    assert status == 200, body
    return np.asarray(Image.open(io.BytesIO(body))), float(headers["x-seconds"])


def test_api_colorizes_bends_to_hints_and_suggests_colours(server):
    rgb = photo()
    opened = upload(server, rgb)
    assert (opened["width"], opened["height"]) == (128, 96)
    auto, _ = render(server, opened["id"], [])
    status, body, _ = call(f"{server['url']}/api/photos/{opened['id']}/auto.png")
    assert status == 200 and np.array_equal(np.asarray(Image.open(io.BytesIO(body))), auto)
    red = [220, 30, 30]
    hinted, seconds = render(server, opened["id"], [{"x": 20, "y": 20, "color": red}])
    assert seconds > 0
    assert np.abs(hinted[20, 20].astype(int) - red).sum() < np.abs(auto[20, 20].astype(int) - red).sum()
    stroked, _ = render(server, opened["id"], [{"points": [[5, 80], [60, 80]], "color": [0, 0, 255], "width": 5}])
    assert stroked[80, 30, 2] > auto[80, 30, 2] + 20
    status, body, _ = call(f"{server['url']}/api/photos/{opened['id']}/palette?x=20&y=20")
    colors = json.loads(body)["colors"]
    assert status == 200 and 1 <= len(colors) <= 7 and all(len(c) == 3 for c in colors)
    assert colors[0] == [int(v) for v in auto[20, 20]] or np.abs(np.subtract(colors[0], auto[20, 20])).max() <= 3
    assert json.loads(body)["shares"] == [None] * len(colors)  # a regression model: no likelihoods


def test_a_bin_models_palette_offers_its_likeliest_colours_with_their_shares(bin_server):
    from deepcolor.app.session import PALETTE_MIN_SHARE

    rgb = photo()
    opened = upload(bin_server, rgb)
    auto, _ = render(bin_server, opened["id"], [])
    offered = 0
    for x, y in ((20, 20), (60, 80), (50, 40)):
        status, body, _ = call(f"{bin_server['url']}/api/photos/{opened['id']}/palette?x={x}&y={y}")
        answer = json.loads(body)
        colors, shares = answer["colors"], answer["shares"]
        assert status == 200 and 1 <= len(colors) <= 7 and len(shares) == len(colors)
        assert np.abs(np.subtract(colors[0], auto[y, x])).max() <= 3 and shares[0] is None
        assert all(isinstance(s, float) and s >= PALETTE_MIN_SHARE for s in shares[1:])
        assert shares[1:] == sorted(shares[1:], reverse=True)  # the likeliest first
        assert sum(shares[1:]) <= 1 + 1e-3
        offered += len(colors) - 1
    assert offered > 0  # the distribution offers colours besides the automatic one


@pytest.mark.parametrize("body, name, status, message", [
    (b"not an image at all", "notes.txt", 400, "notes.txt: cannot read image: not an image"),
    (b"", "empty.png", 400, "empty upload"),
    (b"\x00" * 300_000, "huge.png", 413, "upload limit"),
    (png(np.zeros((400, 400, 3), np.uint8)), "big.png", 400, "megapixels"),
])
def test_api_refuses_bad_uploads_with_a_message(server, body, name, status, message):
    got, text, _ = call(f"{server['url']}/api/photos?name={name}", body)
    assert got == status and message in json.loads(text)["error"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "..%2F..%2Fsecret.png", "a%5Cb.png", ".hidden.png"])
def test_api_refuses_paths_as_file_names(server, name):
    got, text, _ = call(f"{server['url']}/api/photos?name={name}", png(photo()))
    assert got == 400 and "a file name, not a path" in json.loads(text)["error"]
    assert upload(server, photo())["width"] == 128  # and goes on working


def test_api_answers_20_concurrent_requests_correctly(server):
    from concurrent.futures import ThreadPoolExecutor

    opened = upload(server, photo(seed=7))
    cases = [[{"x": 5 + 5 * k, "y": 10 + 3 * k, "color": [40 * (k % 6), 200, 255 - 10 * k]}] for k in range(20)]
    expected = [render(server, opened["id"], hints)[0] for hints in cases]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda hints: render(server, opened["id"], hints)[0], cases))
    assert all(np.array_equal(a, e) for a, e in zip(answers, expected))
    assert len({a.tobytes() for a in answers}) == 20  # each request got its own hints' image


def test_api_sessions_are_separate_and_expire(server):
    first = upload(server, photo(seed=2))
    second = upload(server, photo(48, 64, seed=3))
    a, _ = render(server, first["id"], [])
    b, _ = render(server, second["id"], [])
    assert a.shape == (96, 128, 3) and b.shape == (48, 64, 3)
    status, body, _ = call(f"{server['url']}/api/photos/{first['id']}/render", b'{"hints": [{"x": -1}]}',
                           content_type="application/json")
    assert status == 400 and "hint 0" in json.loads(body)["error"]
    for seed in range(4):  # max_sessions 3: the first is dropped
        upload(server, photo(seed=10 + seed))
    status, body, _ = call(f"{server['url']}/api/photos/{first['id']}/render", b'{"hints": []}',
                           content_type="application/json")
    assert status == 404 and "open it again" in json.loads(body)["error"]


# ---------------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser():
    required = os.environ.get("DEEPCOLOR_REQUIRE_BROWSER") == "1"
    missing = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing = "Playwright is not installed (pip install playwright)"
    if missing is None and CHROMIUM is None:
        missing = "no chromium on PATH (apt-get install chromium)"
    if missing:
        if required:
            pytest.fail(f"browser tests required (DEEPCOLOR_REQUIRE_BROWSER=1) but {missing}")
        pytest.skip(f"browser tests need a real browser: {missing}")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


def wait_hints(page, n):
    page.wait_for_function(f"document.getElementById('result').dataset.hints === '{n}'", timeout=60000)


def result_pixel(page, fx, fy):
    """RGB of the shown result at a fraction of its width and height, read back from the page."""
    return page.evaluate("""([fx, fy]) => {
        const img = document.getElementById('result');
        const c = document.createElement('canvas');
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const g = c.getContext('2d'); g.drawImage(img, 0, 0);
        const d = g.getImageData(Math.floor(fx * c.width), Math.floor(fy * c.height), 1, 1).data;
        return [d[0], d[1], d[2]];
    }""", [fx, fy])


def test_page_hints_palette_undo_stroke_download_in_a_real_browser(server, browser, tmp_path):
    path = tmp_path / "house.png"
    path.write_bytes(png(photo(240, 288)))
    page = browser.new_page(accept_downloads=True)
    page.goto(server["url"])
    page.set_input_files("#file", str(path))
    wait_hints(page, 0)
    assert "house.png, 288x240: 0 hint(s)" in page.inner_text("#status")
    page.wait_for_function("document.getElementById('result').naturalWidth === 288")
    auto = result_pixel(page, 0.15, 0.2)
    page.fill("#color", "#ff0000")
    box = page.locator("#result").bounding_box()
    page.mouse.click(box["x"] + 0.15 * box["width"], box["y"] + 0.2 * box["height"])
    wait_hints(page, 1)
    page.wait_for_function("document.getElementById('result').src.startsWith('blob:')")
    page.wait_for_timeout(300)
    red = result_pixel(page, 0.15, 0.2)
    assert red[0] - red[2] > auto[0] - auto[2] + 30  # the sky turned red where clicked
    if os.environ.get("DEEPCOLOR_SCREENSHOT"):  # README's screenshot: python -m pytest -k real_browser
        page.screenshot(path=os.environ["DEEPCOLOR_SCREENSHOT"])
    swatches = page.locator("#palette .swatch")
    swatches.first.wait_for()
    assert 1 <= swatches.count() <= 7
    swatches.last.click()  # recolour the point with a suggestion: still one hint
    page.wait_for_timeout(300)
    wait_hints(page, 1)
    page.click("#undo")
    wait_hints(page, 0)
    page.wait_for_timeout(300)
    assert np.abs(np.subtract(result_pixel(page, 0.15, 0.2), auto)).max() <= 1  # back to the automatic result
    page.check("input[value=stroke]")
    page.mouse.move(box["x"] + 0.1 * box["width"], box["y"] + 0.85 * box["height"])
    page.mouse.down()
    page.mouse.move(box["x"] + 0.6 * box["width"], box["y"] + 0.85 * box["height"], steps=8)
    page.mouse.up()
    wait_hints(page, 1)
    page.check("#side")
    assert page.locator("#grayfig").is_visible() and page.locator("#autofig").is_visible()
    with page.expect_download() as download:
        page.click("#download")
    saved = tmp_path / "download.png"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "house_color.png"
    assert Image.open(saved).size == (288, 240)
    page.click("#reset")
    wait_hints(page, 0)
    page.close()


def test_tabs_keep_their_own_photos_and_errors_are_shown(server, browser, tmp_path):
    first, second = tmp_path / "first.png", tmp_path / "second.png"
    first.write_bytes(png(photo(seed=4)))
    second.write_bytes(png(photo(48, 64, seed=5)))
    tab1, tab2 = browser.new_page(), browser.new_page()
    for tab, path in ((tab1, first), (tab2, second)):
        tab.goto(server["url"])
        tab.set_input_files("#file", str(path))
        wait_hints(tab, 0)
    box = tab1.locator("#result").bounding_box()
    tab1.mouse.click(box["x"] + 5, box["y"] + 5)
    wait_hints(tab1, 1)
    assert "first.png, 128x96: 1 hint(s)" in tab1.inner_text("#status")
    assert "second.png, 64x48: 0 hint(s)" in tab2.inner_text("#status")
    tab1.wait_for_function("document.getElementById('result').naturalWidth === 128")
    tab2.wait_for_function("document.getElementById('result').naturalWidth === 64")
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"plain text, not a PNG")
    tab2.set_input_files("#file", str(bad))
    tab2.wait_for_function("document.getElementById('error').textContent.includes('not an image')")
    tab3 = browser.new_page()
    tab3.goto(server["url"])
    tab3.click("#preloaded")  # the photo given to 'deepcolor serve'
    wait_hints(tab3, 0)
    assert "preloaded.png" in tab3.inner_text("#status")
    for tab in (tab1, tab2, tab3):
        tab.close()


def test_a_bin_models_palette_in_a_real_browser_says_how_likely_each_colour_is(bin_server, browser, tmp_path):
    path = tmp_path / "house.png"
    path.write_bytes(png(photo(240, 288)))
    page = browser.new_page()
    page.goto(bin_server["url"])
    page.set_input_files("#file", str(path))
    wait_hints(page, 0)
    box = page.locator("#result").bounding_box()
    page.mouse.click(box["x"] + 0.15 * box["width"], box["y"] + 0.2 * box["height"])
    wait_hints(page, 1)
    swatches = page.locator("#palette .swatch")
    swatches.first.wait_for()
    titles = [swatches.nth(k).get_attribute("title") for k in range(swatches.count())]
    assert len(titles) >= 2 and titles[0].startswith("automatic colour #")
    assert all(t.startswith("suggested colour #") and t.endswith("% likely") for t in titles[1:])
    likeliest = titles[1].split()[2].rstrip(",")
    swatches.nth(1).click()  # the point takes the likeliest suggestion
    page.wait_for_function(f"document.getElementById('color').value === '{likeliest}'")
    wait_hints(page, 1)
    page.close()
