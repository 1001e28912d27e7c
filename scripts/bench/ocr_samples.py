#!/usr/bin/python3
"""Realistic PP-OCR inputs: text rendered with ImageMagick (Debian's
`imagemagick`, DejaVu/Liberation fonts), normalized as PP-OCR expects
((pixel/255 - 0.5) / 0.5, three channels), written as OUT/test_data_set_K/x.npy
for `pare quantize --calib` and `pare evaluate --data`, with the truth beside
it in label.txt (rec: the line's text; cls: 0 or 180; det: the lines).

usage: scripts/bench/ocr_samples.py det|rec|rec-text|cls COUNT SEED OUT
  det: 320x320 pages with several lines; rec: 48x320 single lines (which may
  run past the right edge); rec-text: 48x320 lines that fit, for accuracy
  against their text;
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
# Debian's imagemagick, ahead of any other `convert` on PATH.
CONVERT = "/usr/bin/convert" if pathlib.Path("/usr/bin/convert").exists() else "convert"
FONTS = ["DejaVu-Sans", "DejaVu-Serif", "DejaVu-Sans-Mono", "Liberation-Sans", "Liberation-Serif"]


def line(rng):
    words = [rng.choice(WORDS) for _ in range(rng.randint(2, 5))]
    if rng.random() < 0.5:
        words.append(str(rng.randint(1, 99999)))
    return " ".join(words).capitalize()


def text_width(font, size, text):
    out = subprocess.run([CONVERT, "-font", font, "-pointsize", str(size), f"label:{text}", "-format", "%w",
                          "info:"], check=True, capture_output=True, text=True).stdout
    return int(out)


def fitting_line(rng, font, size, room):
    """Words while the line fits in `room` pixels (at least one word)."""
    words = [rng.choice(WORDS).capitalize()]
    while len(words) < 6:
        word = str(rng.randint(1, 99999)) if rng.random() < 0.2 else rng.choice(WORDS)
        if text_width(font, size, " ".join(words + [word])) > room:
            break
        words.append(word)
    return " ".join(words)


def render(width, height, draws, rotate=False):
    cmd = [CONVERT, "-size", f"{width}x{height}", "xc:white"]
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
        return render(320, 320, draws), "\n".join(d[4] for d in draws)
    if kind == "rec-text":  # every character of the truth is in the image
        font, size, x = rng.choice(FONTS), rng.randint(18, 30), rng.randint(2, 10)
        draw = (font, size, x, rng.randint(size, 44), fitting_line(rng, font, size, 316 - x), rng.randint(0, 40))
        return render(320, 48, [draw]), draw[4]
    width = 320 if kind == "rec" else 192
    size = rng.randint(18, 30)
    draw = (rng.choice(FONTS), size, rng.randint(2, 10), rng.randint(size, 44), line(rng), rng.randint(0, 40))
    flip = kind == "cls" and rng.random() < 0.5
    return render(width, 48, [draw], rotate=flip), ("180" if flip else "0") if kind == "cls" else draw[4]


def main():
    kind, count, seed, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), pathlib.Path(sys.argv[4])
    rng = random.Random(seed)
    for k in range(count):
        folder = out / f"test_data_set_{k}"
        folder.mkdir(parents=True, exist_ok=True)
        image, label = sample(kind, rng)
        np.save(folder / "x.npy", image)
        (folder / "label.txt").write_text(label + "\n")
    print(f"wrote {count} {kind} samples to {out}")


if __name__ == "__main__":
    main()
