"""A model's scene parser kept as a checked reference to a shipped parser
(``deepcolor.features.scene_parser.reference``; ``ship_parser --link``)."""

import json
import os
import shutil

import numpy as np
import pytest

from deepcolor.core.paths import MODELS_DIR, PARSERS_DIR


def _photo():
    from skimage.data import astronaut

    from deepcolor.core.color import rgb2gray

    return rgb2gray(astronaut()[::4, ::4])


def _unlinked_copy(tmp_path, name):
    """A copy of the shipped model ``name`` holding full copies of its parsers, as
    ``deepcolor train`` writes them, with its hashes recorded."""
    from deepcolor.features.scene_parser.combined import is_combination, read_combination
    from deepcolor.pipeline.model_dir import add_hashes

    model = tmp_path / name
    shutil.copytree(os.path.join(MODELS_DIR, name), model)
    root = str(model / "parser")
    for folder in read_combination(root) if is_combination(root) else [root]:
        with open(os.path.join(folder, "shipped.json"), encoding="utf-8") as handle:
            shipped = json.load(handle)["parser"]
        os.remove(os.path.join(folder, "shipped.json"))
        for file in os.listdir(os.path.join(PARSERS_DIR, shipped)):
            shutil.copy2(os.path.join(PARSERS_DIR, shipped, file), folder)
    add_hashes(str(model))
    return model


def test_every_shipped_model_refers_to_the_shipped_parsers_and_holds_no_copy():
    from deepcolor.core.paths import shipped_models
    from deepcolor.features.scene_parser.reference import is_reference

    for name in shipped_models():
        for directory, _, files in os.walk(os.path.join(MODELS_DIR, name, "parser")):
            assert "parser.safetensors" not in files, f"{directory} holds a copy of a shipped parser"
            assert is_reference(directory) or "combined.json" in files, directory


@pytest.mark.parametrize("name", ["general", "general-vgg"])
def test_linking_a_models_parsers_keeps_its_colours_and_makes_it_smaller(tmp_path, name):
    from deepcolor.pipeline.colorizer import Colorizer
    from deepcolor.pipeline.model_dir import check_model
    from deepcolor.pipeline.ship_parser import link_shipped_parsers

    model = _unlinked_copy(tmp_path, name)
    size = sum(f.stat().st_size for f in (model / "parser").rglob("*") if f.is_file())
    gray = _photo()
    before = Colorizer.load(str(model)).colorize(gray)
    linked = link_shipped_parsers(str(model))
    after_size = sum(f.stat().st_size for f in (model / "parser").rglob("*") if f.is_file())
    assert sorted(n for _, n in linked) == (["stanford8"] if name == "general" else ["siftflow33", "stanford8"])
    assert after_size < size / 100
    assert check_model(str(model)) == ([], [])
    np.testing.assert_array_equal(Colorizer.load(str(model)).colorize(gray), before)
    assert link_shipped_parsers(str(model)) == []  # nothing left to link


def test_a_model_trained_with_a_referring_parser_folder_gets_the_parser_itself(tmp_path):
    """``deepcolor train --parser`` given a shipped model's parser folder: the model is to hold
    the parser's files, not a reference (training resolves it; a combination copies them)."""
    from deepcolor.core.paths import resolve_parser
    from deepcolor.features.scene_parser import write_combination
    from deepcolor.features.scene_parser.reference import resolve_reference

    assert resolve_reference(resolve_parser(os.path.join(MODELS_DIR, "general", "parser"))) == \
        os.path.join(PARSERS_DIR, "stanford8")

    out = tmp_path / "combined"
    parts = [os.path.join(MODELS_DIR, "general", "parser"), os.path.join(PARSERS_DIR, "siftflow33")]
    write_combination(str(out), parts, ["stanford8", "siftflow33"])
    for part, shipped in (("stanford8", "stanford8"), ("siftflow33", "siftflow33")):
        with open(out / part / "parser.safetensors", "rb") as mine, \
                open(os.path.join(PARSERS_DIR, shipped, "parser.safetensors"), "rb") as theirs:
            assert mine.read() == theirs.read()


def _referring_model(tmp_path, edit):
    """A copy of the shipped ``general`` model whose reference was edited by ``edit(record)``,
    its hashes recorded again (so only the reference itself is at fault)."""
    from deepcolor.pipeline.model_dir import add_hashes

    model = tmp_path / "general"
    shutil.copytree(os.path.join(MODELS_DIR, "general"), model)
    path = model / "parser" / "shipped.json"
    record = json.loads(path.read_text())
    text = edit(record)
    path.write_text(text if isinstance(text, str) else json.dumps(record))
    add_hashes(str(model))
    return model


@pytest.mark.parametrize("edit, message", [
    (lambda r: r["sha256"].update({"parser.safetensors": "0" * 64}), "parser.safetensors: differs from the file"),
    (lambda r: r.update(parser="ade150"), "names the shipped parser 'ade150'.*shipped: siftflow33, stanford8"),
    (lambda r: r.update(parser="../parsers/stanford8"), "names the shipped parser"),
    (lambda r: r["sha256"].pop("config.json") and None, "not a 'deepcolor-parser-reference' record"),
    (lambda r: '{"format": "deepcolor-parser-reference", ', "shipped.json: not valid JSON"),
])
def test_a_bad_reference_is_refused_naming_the_file(tmp_path, edit, message):
    from deepcolor.pipeline.colorizer import Colorizer
    from deepcolor.pipeline.model_dir import DamagedModelError, check_model

    model = _referring_model(tmp_path, edit)
    with pytest.raises(DamagedModelError, match=message):
        Colorizer.load(str(model))
    problems, _ = check_model(str(model))
    assert len(problems) == 1 and ("shipped.json" in problems[0] or "parser.safetensors" in problems[0]), problems
