#!/bin/bash
# The reliability cases: damaged models, interrupted batches, ambiguous outputs, OS errors.
# Prints a Markdown table row per case: the command, its exit status, the last lines it
# printed to stderr. Run with the project's environment active:
#     bash benchmarks/reliability_cases.sh
# (the read-only case needs root for a read-only bind mount and is left out otherwise).
DC=deepcolor
PY=python
MODEL="$($PY -c 'from deepcolor.core.paths import DEFAULT_MODEL_DIR as d; print(d)')"
W="$(mktemp -d)"; trap 'umount "$W/ro" 2>/dev/null; rm -rf "$W"' EXIT; cd "$W"
for m in m_cut m_flip m_parser m_json; do cp -r "$MODEL" $m; done
mkdir in; for n in coffee astronaut chelsea rocket; do $PY -c "
import skimage.data as d; from PIL import Image; Image.fromarray(getattr(d,'$n')()).save('in/$n.png')"; done
case_() { local name="$1"; shift; "$@" > out.txt 2> err.txt; rc=$?; echo "| $name | \`$(echo "$*" | sed "s|$W/||g")\` | $rc | $(tr '\r' '\n' < err.txt | grep -v '^\s*$' | grep -v '%|' | tail -2 | tr '\n' ' ' | sed "s|$W/||g" | cut -c1-260) |"; }
$PY - <<'PY'
from deepcolor import Colorizer
from deepcolor.core.color import rgb2gray
from deepcolor.core.io import load_rgb
c = Colorizer.load()
from deepcolor.pipeline.colorizer import working_image
chosen = {n: c.select(working_image(rgb2gray(load_rgb(f"in/{n}.png")), c.settings.working_size))
          for n in ("coffee", "astronaut", "chelsea", "rocket")}
net = chosen["coffee"].cluster.network  # the cluster coffee's lookup picks
users = [n for n, r in chosen.items() if net in [x.network for x in r.chosen]]
print(f"| (damaged file) | {net} | - | used by: {', '.join(users)} |")
for model, damage in (("m_cut", "cut"), ("m_flip", "flip")):
    p = f"{model}/{net}"
    d = bytearray(open(p, "rb").read())
    if damage == "cut":
        d = d[: len(d) // 2]
    else:
        for i in (20000, 21000, 22000, 23000):
            d[i] ^= 0xFF
    open(p, "wb").write(bytes(d))
p = "m_parser/parser/parser.safetensors"; d = open(p, "rb").read(); open(p, "wb").write(d[: len(d) // 3])
open("m_json/model.json", "w").write("[1,2,3]")
PY
case_ "network cut to half (batch of 4)" $DC colorize in -o o_cut --model m_cut --quiet
case_ "network with 4 bytes flipped" $DC colorize in -o o_flip --model m_flip --quiet
case_ "parser cut short" $DC colorize in/coffee.png -o o_parser.png --model m_parser
case_ "model.json holding [1,2,3]" $DC colorize in/coffee.png -o o_json.png --model m_json
case_ "check-model on the flipped model" $DC check-model m_flip
case_ "a finished batch rerun" $DC colorize in -o o_ok --quiet
case_ "the same batch rerun" $DC colorize in -o o_ok --quiet
case_ "... with --skip-existing" $DC colorize in -o o_ok --quiet --skip-existing
mkdir -p many; for i in $(seq -w 1 12); do cp in/astronaut.png many/a$i.png; done
$PY - <<'PY'
import os, signal, subprocess, time
p = subprocess.Popen(["deepcolor", "colorize", "many", "-o", "o_int", "--quiet"], stderr=subprocess.PIPE, text=True)
while not os.path.exists("o_int/a03.png"):
    time.sleep(0.02)
p.send_signal(signal.SIGINT)
err = p.communicate()[1]
print(f"| Ctrl-C during a batch of 12 | `deepcolor colorize many -o o_int` + SIGINT | {p.returncode} | {' '.join(l for l in err.splitlines() if l.strip())[-300:]} |")
PY
touch o_int/.a01.png.tmp-999999
case_ "stale temporary of a killed run, then --skip-existing" $DC colorize many -o o_int --quiet --skip-existing
echo "| (stale temporary left after that run?) | \`ls -a o_int\` | - | $(ls -a o_int | grep -c tmp) temporary files |"
case_ "several inputs, -o an image name" $DC colorize in -o multi.png
case_ "unknown output extension" $DC colorize in/coffee.png -o out.xyz
echo "| (folders created by those two?) | \`ls\` | - | multi.png: $(test -e multi.png && echo yes || echo no), out.xyz: $(test -e out.xyz && echo yes || echo no) |"
cp -r in d; $DC colorize d -o d/sub --quiet 2>/dev/null
case_ "output folder inside the input folder, second run" $DC colorize d -o d/sub --quiet --skip-existing
echo "| (d/sub/sub exists?) | | - | $(test -e d/sub/sub && echo yes || echo no) |"
touch afile
case_ "a file where a folder should be" $DC colorize in/coffee.png -o afile/sub
mkdir -p ro && mount --bind ro ro 2>/dev/null && mount -o remount,ro,bind ro 2>/dev/null && \
  case_ "read-only output folder" $DC colorize in/coffee.png -o ro/out.png; umount ro 2>/dev/null
case_ "--blend 1000" $DC colorize in/coffee.png -o b.png --blend 1000
case_ "--stride 5000" $DC colorize in/coffee.png -o b.png --stride 5000
env -u DEEPCOLOR_DATA $DC train-parser -o newparser > /dev/null 2> err.txt; echo "| train-parser without a data root | \`deepcolor train-parser -o newparser\` | $? | $(tail -1 err.txt); folder left: $(test -e newparser && echo yes || echo no) |"
$DC colorize in/coffee.png -o mode.png 2>/dev/null; echo "| file modes (umask $(umask)) | \`stat\` | - | output $(stat -c %A mode.png), shipped networks $(stat -c %A "$MODEL"/networks/L0_C000.safetensors) |"
