#!/usr/bin/python3
"""Realistic PP-OCR inputs: text rendered with ImageMagick (Debian's
`imagemagick`, DejaVu/Liberation fonts), normalized as PP-OCR expects
((pixel/255 - 0.5) / 0.5, three channels), written as OUT/test_data_set_K/x.npy
for `pare quantize --calib` and `pare evaluate --data`.

usage: scripts/bench/ocr_samples.py det|rec|cls COUNT SEED OUT
  det: 320x320 pages with several lines; rec: 48x320 single lines;
  cls: 48x192 lines, every other one upside down.
"""
import pathlib
import random
import subprocess
import sys

import numpy as np

WORDS = ("invoice total amount date number order customer address street city "
         "payment account balance due paid tax rate price quantity item product "
         "service phone email reference page report summary model memory device").split()
FONTS = ["DejaVu-Sans", "DejaVu-Serif", "DejaVu-Sans-Mono", "Liberation-Sans", "Liberation-Serif"]


def line(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(2, 5))]
    if rng.random() < 0.5:
        words.append(str(rng.randint(1, 99999)))
    return " ".join(words).capitalize()


def render(width, height, draws, rotate=False):
    cmd = ["convert", "-size", f"{width}x{height}", "xc:white"]
    for font, size, x, y, text, shade in draws:
        cmd += ["-font", font, "-pointsize", str(size), "-fill", f"gray{shade}",
                "-annotate", f"+{x}+{y}", text]
    if rotate:
        cmd += ["-rotate", "180"]
    cmd += ["-depth", "8", "gray:-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    page = np.frombuffer(raw, np.uint8).reshape(height, width).astype(np.float32) / 255.0
    return np.repeat(((page - 0.5) / 0.5)[None, None], 3, axis=1).astype(np.float32)


def sample(kind, rng):
    if kind == "det":
        draws, y = [], rng.randint(24, 40)
        while y < 310:
            size = rng.randint(14, 26)
            draws.append((rng.choice(FONTS), size, rng.randint(2, 60), y, line(rng), rng.randint(0, 40)))
            y += size + rng.randint(6, 24)
        return render(320, 320, draws)
    width = 320 if kind == "rec" else 192
    size = rng.randint(18, 30)
    draw = (rng.choice(FONTS), size, rng.randint(2, 10), rng.randint(size, 44), line(rng), rng.randint(0, 40))
    return render(width, 48, [draw], rotate=(kind == "cls" and rng.random() < 0.5))


def main():
    kind, count, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), pathlib.Path(sys.argv[4])
    rng = random.Random(seed)
    for k in range(count):
        folder = out / f"test_data_set_{k}"
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "x.npy", sample(kind, rng))
    print(f"wrote {count} {kind} samples to {out}")


if __name__ == "__main__":
    main()
