
import numpy as np
import pytest
from PIL import Image

from deepcolor.core.io import ImageReadError, load_gray, load_rgb, save_image


def _gradient(h=20, w=30):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([x * 8 % 256, y * 12 % 256, (x + y) * 4 % 256], -1).astype(np.uint8)


def test_rgb_png_round_trip(tmp_path):
    rgb = _gradient()
    path = tmp_path / "a.png"
    save_image(path, rgb)
    np.testing.assert_array_equal(load_rgb(path), rgb)


def test_exif_orientation_is_applied(tmp_path):
    rgb = _gradient(20, 30)
    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "rot.jpg"
    img.save(path, exif=exif, quality=100)
    out = load_rgb(path)
    assert out.shape == (30, 20, 3)


def test_grayscale_file(tmp_path):
    gray = _gradient()[..., 0]
    path = tmp_path / "g.png"
    Image.fromarray(gray, "L").save(path)
    rgb = load_rgb(path)
    assert rgb.shape == gray.shape + (3,)
    for c in range(3):
        np.testing.assert_array_equal(rgb[..., c], gray)
    np.testing.assert_array_equal(load_gray(path), gray)


def test_rgba_is_composited_on_white(tmp_path):
    rgba = np.zeros((4, 4, 4), np.uint8)
    rgba[..., 0] = 200
    rgba[:2, ..., 3] = 255  # top half opaque red-ish, bottom transparent
    path = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(path)
    rgb = load_rgb(path)
    np.testing.assert_array_equal(rgb[0, 0], [200, 0, 0])
    np.testing.assert_array_equal(rgb[3, 3], [255, 255, 255])


def test_palette_file(tmp_path):
    rgb = _gradient()
    pal = Image.fromarray(rgb).quantize(16)
    path = tmp_path / "p.png"
    pal.save(path)
    expected = np.asarray(pal.convert("RGB"))
    np.testing.assert_array_equal(load_rgb(path), expected)


def test_sixteen_bit_file(tmp_path):
    values = np.array([[0, 257, 65535, 32896]], dtype=np.uint16)
    path = tmp_path / "d.png"
    Image.fromarray(values).save(path)  # mode I;16
    out = load_rgb(path)
    np.testing.assert_array_equal(out[0, :, 0], [0, 1, 255, 128])


def test_cmyk_file(tmp_path):
    rgb = _gradient()
    path = tmp_path / "c.jpg"
    Image.fromarray(rgb).convert("CMYK").save(path, quality=100)
    out = load_rgb(path)
    assert out.shape == rgb.shape
    assert np.abs(out.astype(int) - rgb.astype(int)).mean() < 8


def test_truncated_file_names_file(tmp_path):
    path = tmp_path / "t.jpg"
    Image.fromarray(_gradient(64, 64)).save(path, quality=95)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageReadError, match="t.jpg.*truncated"):
        load_rgb(path)


@pytest.mark.parametrize("content", [b"", b"not an image at all"])
def test_unreadable_file_names_file(tmp_path, content):
    path = tmp_path / "bad.png"
    path.write_bytes(content)
    with pytest.raises(ImageReadError, match="bad.png"):
        load_rgb(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(ImageReadError, match="nope.jpg: file not found"):
        load_rgb(tmp_path / "nope.jpg")
    with pytest.raises(ImageReadError, match="directory"):
        load_rgb(tmp_path)


def test_save_refuses_to_overwrite(tmp_path):
    path = tmp_path / "o.png"
    save_image(path, _gradient())
    with pytest.raises(FileExistsError, match="o.png"):
        save_image(path, _gradient())
    save_image(path, np.zeros((3, 3), np.uint8), overwrite=True)
    assert load_rgb(path).shape == (3, 3, 3)
    assert [p.name for p in tmp_path.iterdir()] == ["o.png"]  # no temporary files left


def test_save_rejects_bad_arrays(tmp_path):
    with pytest.raises(ValueError, match="uint8"):
        save_image(tmp_path / "x.png", np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="extension"):
        save_image(tmp_path / "x.unknownext", np.zeros((3, 3), np.uint8))
