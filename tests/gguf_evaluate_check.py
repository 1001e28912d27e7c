#!/usr/bin/python3
"""`pare evaluate X.gguf --reference model.onnx` against llama.cpp's own figure.

llama.cpp's quantizer makes a Q4_K_M of the trained LM (HF-style zoo export,
F32 GGUF written by pare); llama.cpp measures its mean KL against the F32
file on held-out chunks; pare evaluates the same file against the ONNX model
on the same chunks. The two KLs agree within 5%, and `--per-layer` ranks the
file's layers.

usage: gguf_evaluate_check.py PARE MODEL.onnx HELDOUT.tokens
Exits 77 (skipped) without node-llama-cpp or the inputs.
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import gguf_zoo_check as zoo  # noqa: E402

SEQ, CHUNKS = 128, 16


def main():
    pare, model, heldout = sys.argv[1:4]
    if not (zoo.LLAMA_MODULES / "node-llama-cpp").exists() or not all(
            map(os.path.exists, (model, heldout))):
        print("skipped: node-llama-cpp, the model or the tokens missing")
        return 77
    tokens = [int(t) for t in pathlib.Path(heldout).read_text().split()]
    chunks = [tokens[i * SEQ:(i + 1) * SEQ] for i in range(CHUNKS)]
    with tempfile.TemporaryDirectory() as tmp:
        w = pathlib.Path(tmp)
        subprocess.run([pare, "convert", model, "--format", "gguf", "--type", "f32", "-o", w / "f32.gguf"],
                       check=True, capture_output=True)
        subprocess.run([sys.executable, ROOT / "scripts/gguf/llama_quantize.py", w / "f32.gguf",
                        w / "q4_k_m.gguf", "15"], check=True, capture_output=True)
        theirs = zoo.kl(zoo.llama_logits(w / "f32.gguf", chunks, w),
                        zoo.llama_logits(w / "q4_k_m.gguf", chunks, w))
        r = subprocess.run([pare, "evaluate", w / "q4_k_m.gguf", "--reference", model, "--task", "lm",
                            "--tokens", heldout, "--seq-len", str(SEQ), "--max-samples", str(CHUNKS),
                            "--per-layer", "--json", w / "report.json", "--quiet"],
                           capture_output=True, text=True)
        if r.returncode:
            print(f"FAIL pare evaluate: {r.stderr.strip()}")
            return 1
        report = json.loads((w / "report.json").read_text())
    candidate = report["candidates"][0]
    mine = candidate["lm"]["kl"]["mean"]
    layers = candidate.get("layers", [])
    apart = abs(mine - theirs) / theirs
    ok = apart <= 0.05
    print(f"{'ok  ' if ok else 'FAIL'} llama.cpp's Q4_K_M: pare evaluate KL {mine:.6f}, "
          f"llama.cpp {theirs:.6f} ({100 * apart:.1f}% apart)")
    ranked = len(layers) > 10 and layers[0]["value"] != ""
    print(f"{'ok  ' if ranked else 'FAIL'} {len(layers)} layers ranked, worst "
          f"{layers[0]['value'] if layers else '-'}")
    return 0 if ok and ranked else 1


if __name__ == "__main__":
    sys.exit(main())
