"""The package's shape: one import name, layers that import only downward, README's API.

The wheel is built from a clean copy of this checkout (``pip wheel``); the layer contract of ``setup.cfg``
is checked with ``lint-imports`` on the wheel's files, where ``features/``, ``clustering/``
and ``data/`` sit inside ``deepcolor/`` as they do once installed.
"""

import json
import os
import re
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(REPO, "README.md")
SOURCE_FOLDERS = {"deepcolor": "deepcolor", "features": "deepcolor/features", "clustering": "deepcolor/clustering",
                  "data": "deepcolor/data"}


def _clean_copy(dest):
    """The checkout's files as git sees them (tracked and not ignored, as they are now) in
    ``dest``: no ``build/`` or ``*.egg-info`` of an earlier build, whose file lists would
    let the wheel take files that ``setup.cfg`` does not name, as a fresh clone would not."""
    import shutil

    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        source = os.path.join(REPO, rel)
        if os.path.isfile(source):
            os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
            shutil.copy2(source, os.path.join(dest, rel))
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel built from a clean copy of the checkout, unpacked: ``(wheel file, folder holding its files)``."""
    out = tmp_path_factory.mktemp("wheel")
    if not os.path.isdir(os.path.join(REPO, ".git")):
        pytest.skip("the wheel is built from git's list of the checkout's files, and this is not a git checkout")
    source = _clean_copy(str(tmp_path_factory.mktemp("checkout")))
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                            "-w", str(out), source], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr[-3000:]
    (whl,) = [f for f in os.listdir(out) if f.endswith(".whl")]
    site = out / "site"
    with zipfile.ZipFile(out / whl) as archive:
        archive.extractall(site)
    return out / whl, site


def _source_modules():
    """Every module of the source tree as its path inside the installed package."""
    found = set()
    for folder, target in SOURCE_FOLDERS.items():
        for d, subdirs, files in os.walk(os.path.join(REPO, folder)):
            subdirs[:] = [s for s in subdirs if s != "__pycache__"]
            rel = os.path.relpath(d, os.path.join(REPO, folder))
            for f in files:
                if f.endswith(".py"):
                    found.add(os.path.normpath(os.path.join(target, rel, f)))
    return found


def test_the_wheel_has_one_top_level_package_holding_every_module(wheel):
    whl, _ = wheel
    with zipfile.ZipFile(whl) as archive:
        names = archive.namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"deepcolor"}
    missing = _source_modules() - {os.path.normpath(n) for n in names}
    assert not missing, f"modules left out of the wheel (add their package to setup.cfg): {sorted(missing)}"
    assert "deepcolor/models/default/model.json" in names
    assert "deepcolor/models/parsers/siftflow33/parser.safetensors" in names
    # the shipped models refer to the shipped parsers (deepcolor.features.scene_parser.reference)
    assert "deepcolor/models/default/parser/shipped.json" in names
    assert "deepcolor/models/general-vgg/parser/siftflow33/shipped.json" in names


def test_every_model_in_the_wheel_is_whole_and_sound(wheel):
    """An installed (not editable) package holds every shipped model's files, and each model's
    parser reference finds, in the installed package, the shipped parser it was written for."""
    _, site = wheel
    script = ("import json, os\n"
              "from deepcolor.core.paths import MODELS_DIR, shipped_models\n"
              "from deepcolor.pipeline.model_dir import check_model\n"
              "assert MODELS_DIR.startswith(os.environ['SITE']), MODELS_DIR\n"
              "print(json.dumps({m: check_model(os.path.join(MODELS_DIR, m))[0] for m in shipped_models()}))\n")
    env = {**os.environ, "PYTHONPATH": str(site), "SITE": str(site)}
    result = subprocess.run([sys.executable, "-c", script], cwd=str(site), env=env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    problems = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(problems) >= 6 and "general-vgg" in problems
    assert all(not p for p in problems.values()), problems


def test_layers_import_only_downward(wheel):
    _, site = wheel
    env = {**os.environ, "PYTHONPATH": str(site)}
    lint = os.path.join(os.path.dirname(sys.executable), "lint-imports")
    result = subprocess.run([lint, "--config", os.path.join(REPO, "setup.cfg"), "--no-cache"], cwd=site, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout or "broken" not in result.stdout.split("Contracts:")[-1]


def _shadowing_folder(tmp_path):
    """A user's project folder with its own ``features.py``, ``data/`` and ``clustering.py``."""
    folder = tmp_path / "project"
    (folder / "data").mkdir(parents=True)
    (folder / "data" / "__init__.py").write_text("raise ImportError('the user\\'s own data package')\n")
    (folder / "features.py").write_text("raise ImportError('the user\\'s own features module')\n")
    (folder / "clustering.py").write_text("raise ImportError('the user\\'s own clustering module')\n")
    return folder


def _sample():
    import skimage.data

    return os.path.join(skimage.data.data_dir, "astronaut.png")


@pytest.mark.parametrize("install", ["editable", "wheel"])
def test_runs_from_a_folder_with_its_own_features_and_data(install, wheel, tmp_path):
    folder = _shadowing_folder(tmp_path)
    env = dict(os.environ)
    if install == "wheel":
        env["PYTHONPATH"] = str(wheel[1])
    else:
        env.pop("PYTHONPATH", None)
    run = subprocess.run([sys.executable, "-m", "deepcolor", "colorize", _sample(), "-o", str(tmp_path / "out.png")],
                         cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert (tmp_path / "out.png").stat().st_size > 0
    where = subprocess.run([sys.executable, "-c", "import deepcolor.features as f, deepcolor.data as d; "
                            "print(f.__file__); print(d.__file__)"], cwd=folder, env=env, capture_output=True,
                           text=True, timeout=120)
    assert where.returncode == 0, where.stderr
    assert str(folder) not in where.stdout
    if install == "wheel":
        assert where.stdout.startswith(str(wheel[1]))


def test_training_runs_from_a_folder_with_its_own_data_package(tmp_path):
    import numpy as np
    from PIL import Image

    folder = _shadowing_folder(tmp_path)
    images = tmp_path / "images"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(4):
        Image.fromarray(rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)).save(images / f"p{i}.png")
    run = subprocess.run([sys.executable, "-m", "deepcolor", "train", "--dataset", f"folder:{images}", "--clusters",
                          "1", "--epochs", "1", "--samples", "50", "--no-semantic", "--quiet", "--cache",
                          str(tmp_path / "cache"), "-o", str(tmp_path / "model")], cwd=folder,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    manifest = json.loads((tmp_path / "model" / "manifest.json").read_text())
    # run as python -m deepcolor, the manifest still records the command as typed
    assert manifest["command"].startswith(f"deepcolor train --dataset folder:{images} --clusters 1")


def _readme_python_blocks():
    with open(README, encoding="utf-8") as handle:
        return re.findall(r"```python\n(.*?)```", handle.read(), flags=re.S)


def test_readme_python_snippets_run(tmp_path, monkeypatch):
    blocks = _readme_python_blocks()
    assert blocks, "README shows no Python example"
    monkeypatch.chdir(tmp_path)
    namespace = {}
    for block in blocks:
        exec(compile(block, README, "exec"), namespace)  # noqa: S102 - the README's own examples


def test_every_name_readme_imports_exists():
    import importlib

    with open(README, encoding="utf-8") as handle:
        text = handle.read()
    imports = re.findall(r"from (deepcolor[\w.]*) import ([\w, ]+)", text)
    assert imports
    for module, names in imports:
        mod = importlib.import_module(module)
        for name in (n.strip() for n in names.split(",")):
            assert hasattr(mod, name) or importlib.util.find_spec(f"{module}.{name}"), f"{module}.{name}"
