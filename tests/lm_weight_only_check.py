#!/usr/bin/python3
"""Weight-only int4 on pare's trained test LM (scripts/models/make_lm.sh small):
RTN and GPTQ at block 32, each evaluated with `pare evaluate --task lm` on
held-out text. Fails unless both stay close to the float model (perplexity
within 10%) and GPTQ's mean KL divergence is below RTN's, the ordering every
published measurement shows. Exits 77 (skipped) when the model is missing.

usage: lm_weight_only_check.py PARE_BINARY MODELS_DIR
"""
import json
import pathlib
import subprocess
import sys
import tempfile

from small_lm import small_lm_or_skip


def main():
    pare, models = sys.argv[1], pathlib.Path(sys.argv[2])
    lm = small_lm_or_skip(models)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        for algo in ("rtn", "gptq"):
            out = work / f"{algo}.onnx"
            subprocess.run([pare, "quantize", str(lm / "model.onnx"), "-o", str(out), "--mode", "weights",
                            "--algorithm", algo, "--calib-tokens", str(lm / "calib.tokens"), "--seq-len",
                            "128", "--max-calib", "16"], check=True, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            report = work / f"{algo}.json"
            subprocess.run([pare, "evaluate", str(out), "--reference", str(lm / "model.onnx"), "--task", "lm",
                            "--tokens", str(lm / "heldout.tokens"), "--seq-len", "128", "--max-samples", "32",
                            "--quiet", "--json", str(report)], check=True, stdout=subprocess.DEVNULL)
            results[algo] = json.loads(report.read_text())["candidates"][0]["lm"]
    failures = 0
    for algo, r in results.items():
        ok = r["ppl_ratio"] < 1.10
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {algo}: perplexity ratio {r['ppl_ratio']:.4f}, "
              f"mean KL {r['kl']['mean']:.5f}")
    ordered = results["gptq"]["kl"]["mean"] < results["rtn"]["kl"]["mean"]
    failures += not ordered
    print(f"{'ok  ' if ordered else 'FAIL'} GPTQ's mean KL below RTN's")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
