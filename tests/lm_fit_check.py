#!/usr/bin/python3
"""The fit planner on pare's trained test LM (scripts/models/make_lm.sh small):
`pare sweep` builds uniform int4-g32 and the planner at exactly the same
weight bytes, both evaluated on held-out text. Fails unless the planner's
artifact is no larger and has a lower mean KL divergence than the uniform
recipe, and both artifacts pass `pare convert --verify`. Exits 77 (skipped)
when the model is missing.

usage: lm_fit_check.py PARE_BINARY MODELS_DIR
"""
import json
import pathlib
import subprocess
import sys
import tempfile

from small_lm import small_lm_or_skip


def sweep(pare, lm, out, recipes):
    subprocess.run([pare, "sweep", str(lm / "model.onnx"), "-o", str(out), "--recipes", recipes,
                    "--calib-tokens", str(lm / "calib.tokens"), "--calib-samples", "8",
                    "--eval-tokens", str(lm / "heldout.tokens"), "--eval-samples", "32",
                    "--seq-len", "128"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return {r["recipe"]: r for r in json.loads((out / "results.json").read_text())}


def main():
    pare, models = sys.argv[1], pathlib.Path(sys.argv[2])
    lm = small_lm_or_skip(models)
    with tempfile.TemporaryDirectory() as tmp:
        out = pathlib.Path(tmp) / "report"
        size = sweep(pare, lm, out, "int4-g32")["int4-g32"]["weight_bytes"]
        fit = f"fit@{size}B"
        r = sweep(pare, lm, out, f"int4-g32,{fit}")
        uniform, planned = r["int4-g32"], r[fit]
        failures = 0
        smaller = planned["weight_bytes"] <= uniform["weight_bytes"]
        better = planned["loss"] < uniform["loss"]
        for ok, what in ((smaller, f"planner {planned['weight_bytes']} bytes <= uniform {uniform['weight_bytes']}"),
                         (better, f"planner mean KL {planned['loss']:.5f} < uniform int4-g32 {uniform['loss']:.5f}")):
            failures += not ok
            print(f"{'ok  ' if ok else 'FAIL'} {what}")
        for name in (uniform["artifact"], planned["artifact"]):
            verified = subprocess.run([pare, "convert", "--verify", name], stdout=subprocess.DEVNULL).returncode == 0
            failures += not verified
            print(f"{'ok  ' if verified else 'FAIL'} {pathlib.Path(name).name} verifies")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
