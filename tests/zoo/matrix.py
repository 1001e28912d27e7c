#!/usr/bin/python3
"""The model zoo matrix: every zoo model through every pare stage.

One cell is one model through one stage. A cell passes when the stage
succeeds, its artifact passes onnx's checker (for the opsets Debian's onnx
knows), ONNX Runtime loads and runs it, and pare and ONNX Runtime agree on
its outputs. A cell may instead refuse: a documented exit code (1-6) with
exactly one line `pare: error: ...`. Refusals are expected only where
tests/zoo/expected_refusals.txt lists them (`MODEL.STAGE refuses WHY`); an
unlisted refusal, or a listed cell that now passes, fails the cell so the
list stays true. Known defects not fixed yet are listed as
`MODEL.STAGE fails WHY` and reported as "known-fail". A crash, a
hang, exit 70, or an artifact ONNX Runtime refuses is always a failure.

usage:
  matrix.py PARE ZOO_DIR MODEL STAGE        one cell (ctest); exit 0 ok, 1 failed, 77 skipped
  matrix.py PARE ZOO_DIR --all [--markdown FILE] [--jobs N] [--stages S ...] [--models M ...]
"""
import argparse
import concurrent.futures
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT / "scripts/models"))
import zoo_catalog  # noqa: E402

ORT_MODULES = pathlib.Path(os.environ.get("PARE_CACHE", pathlib.Path.home() / ".cache/pare")) / \
    "ort/node_modules"
RUN_JS = ROOT / "scripts/ort/run.js"
CELL_TIMEOUT = int(os.environ.get("PARE_ZOO_CELL_TIMEOUT", "300"))
REFUSAL_CODES = {1, 2, 3, 4, 5, 6}

# stage: (pare arguments after MODEL -o OUT, what it needs, agreement check)
#   needs: "calib" adds --calib DIR; "tokens" means decoders only.
STAGES = {
    "run": None,
    "int8_qdq": (["quantize", "--calib", "{calib}"], "quantized"),
    "int8_qoperator": (["quantize", "--calib", "{calib}", "--format", "qoperator"], "quantized"),
    # Q/DQ laid out for integer kernels (outputs and the ops between quantized)
    "int8_integer": (["quantize", "--calib", "{calib}", "--integer-graph", "--bias-correction"],
                     "quantized"),
    "int8_dynamic": (["quantize", "--mode", "dynamic"], "quantized"),
    "int4_rtn": (["quantize", "--mode", "weights", "--algorithm", "rtn"], "quantized"),
    "int4_hqq": (["quantize", "--mode", "weights", "--algorithm", "hqq"], "quantized"),
    "int4_gptq": (["quantize", "--mode", "weights", "--algorithm", "gptq", "--calib", "{calib}"],
                  "quantized"),
    "int4_awq": (["quantize", "--mode", "weights", "--algorithm", "awq", "--calib", "{calib}"],
                 "quantized"),
    "prune_magnitude": (["prune", "--method", "magnitude", "--sparsity", "0.5"], "exact"),
    "prune_nm": (["prune", "--method", "magnitude", "--pattern", "2:4"], "exact"),
    "prune_wanda": (["prune", "--method", "wanda", "--sparsity", "0.5", "--calib", "{calib}"],
                    "exact"),
    "prune_sparsegpt": (["prune", "--method", "sparsegpt", "--sparsity", "0.5",
                         "--calib", "{calib}"], "exact"),
    "prune_channels": (["prune", "--method", "channels", "--sparsity", "0.25"], "exact"),
    "convert": None,
    "fit": None,
    "gguf": None,
    "gguf_q4_k_m": None,  # K-quants with llama.cpp's Q4_K_M mix
    "gguf_gptq": None,  # Q4_K_M by GPTQ into the blocks: the same size as round to nearest
}


# ---------------------------------------------------------------- inputs

def make_value(rng, kind, shape):
    if kind.startswith("tokens:"):
        return rng.integers(0, int(kind.split(":")[1]), size=shape, dtype=np.int64)
    if kind == "ones":
        return np.ones(shape, np.int64)
    if kind.startswith("positions:"):
        start = int(kind.split(":")[1])
        return np.broadcast_to(np.arange(start, start + shape[-1], dtype=np.int64), shape).copy()
    if kind == "image":
        return rng.uniform(-1, 1, size=shape).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def write_inputs(spec, folder, seed):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    files = {}
    for name, (kind, shape) in spec.items():
        path = folder / f"{name}.npy"
        np.save(path, make_value(rng, kind, tuple(shape)))
        files[name] = path
    return files


def write_calibration(spec, folder, count=4):
    for i in range(count):
        write_inputs(spec, folder / f"test_data_set_{i}", 100 + i)
    return folder


# ---------------------------------------------------------------- running

class Failure(Exception):
    pass


class Refusal(Exception):
    pass


def call(cmd, what, timeout=CELL_TIMEOUT):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"{what}: hung (over {timeout} s): {' '.join(map(str, cmd))}")
    return p


def pare(binary, args, what):
    p = call([binary] + [str(a) for a in args], what)
    if p.returncode == 0:
        return p
    lines = [line for line in p.stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("pare: error:")]
    if p.returncode < 0:
        raise Failure(f"{what}: killed by signal {-p.returncode}; stderr: {p.stderr[-400:]}")
    if p.returncode in REFUSAL_CODES and len(errors) == 1:
        raise Refusal(f"exit {p.returncode}: {errors[0]}")
    raise Failure(f"{what}: exit {p.returncode} with {len(errors)} error line(s): "
                  f"{p.stderr.strip()[-600:]}")


def ort_run(model, inputs, out_dir):
    env = dict(os.environ, NODE_PATH=str(ORT_MODULES))
    # ONNX Runtime fuses a blocked int4 DequantizeLinear into MatMulNBits
    # and, by default, quantizes its activations to int8 there (0.5% off the
    # ONNX definition on op21_int4); level 0 keeps the float reference.
    args = ["node", str(RUN_JS), str(model), str(out_dir),
            "--config", "session.qdq_matmulnbits_accuracy_level=0"] + \
        [f"{k}={v}" for k, v in inputs.items()]
    p = subprocess.run(args, capture_output=True, text=True, env=env, timeout=CELL_TIMEOUT)
    if p.returncode != 0:
        raise Failure(f"ONNX Runtime refuses {model.name}: {p.stderr.strip()[-500:]}")


def pare_run(binary, model, inputs, out_dir):
    args = ["run", model, "--output-dir", out_dir, "--threads", "1"]
    for k, v in inputs.items():
        args += ["--input", f"{k}={v}"]
    try:
        pare(binary, args, "pare run")
    except Refusal as r:
        raise Failure(f"pare run refuses {model.name}: {r}")


def onnx_check(model):
    """onnx's checker; None when Debian's onnx 1.12 has no schemas for the opset."""
    code = ("import onnx,sys\n"
            "m=onnx.load(sys.argv[1],load_external_data=False)\n"
            "v=max([o.version for o in m.opset_import if o.domain in ('','ai.onnx')]or[0])\n"
            "print('newer' if v>17 else '')\n"
            "v<=17 and onnx.checker.check_model(sys.argv[1])\n")
    p = subprocess.run(["/usr/bin/python3", "-c", code, str(model)], capture_output=True,
                       text=True, timeout=CELL_TIMEOUT)
    if p.returncode != 0:
        raise Failure(f"onnx checker rejects {model.name}: {p.stderr.strip().splitlines()[-1]}")
    return "n/a (opset > 17)" if "newer" in p.stdout else "ok"


def sqnr(ref, got):
    ref, got = ref.astype(np.float64), got.astype(np.float64)
    noise = float(np.sum((ref - got) ** 2))
    signal = float(np.sum(ref ** 2))
    return float("inf") if noise == 0 else 10 * np.log10(max(signal, 1e-30) / noise)


def compare(ref_dir, got_dir, mode, dtype):
    """mode exact: elementwise within tolerance; quantized: output SQNR >= 25 dB."""
    notes = []
    for ref_file in sorted(ref_dir.glob("*.npy")):
        got_file = got_dir / ref_file.name
        if not got_file.exists():
            raise Failure(f"pare wrote no output {ref_file.stem}")
        ref, got = np.load(ref_file), np.load(got_file)
        if ref.shape != got.shape:
            raise Failure(f"{ref_file.stem}: pare {got.shape} vs ONNX Runtime {ref.shape}")
        if ref.dtype.kind in "iub":
            if not np.array_equal(ref, got):
                raise Failure(f"{ref_file.stem}: integer outputs differ")
            continue
        if not np.all(np.isfinite(ref) == np.isfinite(got)):
            raise Failure(f"{ref_file.stem}: non-finite values differ")
        finite = np.isfinite(ref)
        ref, got = ref[finite].astype(np.float64), got[finite].astype(np.float64)
        if ref.size == 0:
            continue
        db = sqnr(ref, got)
        notes.append(f"{ref_file.stem} {db:.0f} dB")
        if mode == "quantized":
            if db < 25:
                raise Failure(f"{ref_file.stem}: pare and ONNX Runtime agree to only {db:.1f} dB")
            continue
        rtol = 1e-2 if dtype == "float16" else 1e-3
        scale = float(np.max(np.abs(ref)))
        diff = np.abs(got - ref)
        bound = rtol * np.abs(ref) + rtol * 0.1 * scale + 1e-6
        if np.any(diff > bound):
            raise Failure(f"{ref_file.stem}: max |pare - ort| {diff.max():.3g} "
                          f"(output max {scale:.3g}, {db:.1f} dB)")
    return ", ".join(notes[:3])


def agree(binary, model, inputs, work, mode, dtype):
    ort_dir, pare_dir = work / "ort_out", work / "pare_out"
    shutil.rmtree(ort_dir, ignore_errors=True)
    shutil.rmtree(pare_dir, ignore_errors=True)
    ort_run(model, inputs, ort_dir)
    pare_run(binary, model, inputs, pare_dir)
    return compare(ort_dir, pare_dir, mode, dtype)


# ---------------------------------------------------------------- stages

def weight_bytes(model):
    code = ("import onnx,sys,numpy as np\n"
            "from onnx import numpy_helper\n"
            "m=onnx.load(sys.argv[1])\n"
            "print(sum(numpy_helper.to_array(t).nbytes for t in m.graph.initializer)+"
            "sum(numpy_helper.to_array(a.t).nbytes for n in m.graph.node for a in n.attribute "
            "if n.op_type=='Constant' and a.name=='value'))\n")
    p = subprocess.run(["/usr/bin/python3", "-c", code, str(model)], capture_output=True,
                       text=True, timeout=CELL_TIMEOUT)
    return int(p.stdout.strip() or 0)


def artifact_model(folder):
    found = sorted(folder.glob("*.onnx"))
    if not found:
        raise Failure(f"artifact {folder} holds no .onnx")
    return found[0]


def run_cell(binary, zoo, name, stage, work):
    m = zoo_catalog.MODELS[name]
    model = zoo / name / "model.onnx"
    inputs = write_inputs(m["inputs"], work / "inputs", 7)
    calib = write_calibration(m["inputs"], work / "calib")
    if stage == "run":
        return agree(binary, model, inputs, work, "exact", m["dtype"])
    if stage == "convert":
        art = work / "artifact"
        pare(binary, ["convert", model, "-o", art], "pare convert")
        pare(binary, ["convert", "--verify", art], "pare convert --verify")
        out = artifact_model(art)
        checked = onnx_check(out)
        return f"checker {checked}; " + agree(binary, out, inputs, work, "exact", m["dtype"])
    if stage == "fit":
        art = work / "artifact"
        budget = max(weight_bytes(model) * 6 // 10, 4096)
        pare(binary, ["fit", model, "-o", art, "--weight-budget", f"{budget}B"], "pare fit")
        written = sum(f.stat().st_size for f in art.iterdir() if f.suffix != ".json"
                      and f.suffix != ".onnx")
        out = artifact_model(art)
        onnx_check(out)
        note = agree(binary, out, inputs, work, "quantized", m["dtype"])
        if written > budget:
            raise Failure(f"fit wrote {written} weight bytes for a budget of {budget}")
        return f"{written} of {budget} budget bytes; {note}"
    if stage in ("gguf", "gguf_q4_k_m"):
        if m["family"] != zoo_catalog.DECODER:
            return None
        out = work / "model.gguf"
        kind = ["--type", "q4_k_m"] if stage == "gguf_q4_k_m" else []
        pare(binary, ["convert", model, "--format", "gguf", "-o", out, "--placeholder-vocab"] + kind,
             "pare convert --format gguf " + " ".join(kind))
        return f"{out.stat().st_size} bytes"
    if stage == "gguf_gptq":
        if m["family"] != zoo_catalog.DECODER:
            return None
        rtn, gptq = work / "rtn.gguf", work / "gptq.gguf"
        base = ["convert", model, "--format", "gguf", "--type", "q4_k_m", "--placeholder-vocab"]
        pare(binary, base + ["-o", rtn], "pare convert --format gguf --type q4_k_m")
        pare(binary, base + ["-o", gptq, "--calib-random", "2"],
             "pare convert --format gguf --type q4_k_m --calib-random 2")
        if gptq.stat().st_size != rtn.stat().st_size or gptq.read_bytes() == rtn.read_bytes():
            raise Failure("GPTQ's Q4_K_M is not a different file of round to nearest's size")
        return f"{gptq.stat().st_size} bytes, as round to nearest's"
    args, mode = STAGES[stage]
    out = work / "out.onnx"
    args = [a.format(calib=calib) for a in args]
    pare(binary, [args[0], model, "-o", out] + args[1:], f"pare {' '.join(args)}")
    checked = onnx_check(out)
    return f"checker {checked}; " + agree(binary, out, inputs, work, mode, m["dtype"])


def expected_refusals():
    """cell -> (kind, reason); kind is "refuses" or "fails" (a known defect)."""
    table = {}
    path = HERE / "expected_refusals.txt"
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            cell, kind, why = (line.split(None, 2) + ["", ""])[:3]
            table[cell] = (kind, why)
    return table


def cell(binary, zoo, name, stage, keep=None):
    """-> (status, note): status in pass, refused, FAIL, n/a."""
    work = pathlib.Path(keep or tempfile.mkdtemp(prefix=f"zoo-{name}-{stage}-"))
    kind, _ = expected_refusals().get(f"{name}.{stage}", (None, None))
    start = time.time()
    try:
        note = run_cell(binary, zoo, name, stage, work)
        if note is None:
            return "n/a", "", 0.0
        status = "pass"
        if kind is not None:
            status, note = "FAIL", f"passes but expected_refusals.txt lists it: {note}"
    except Refusal as r:
        status, note = ("refused", str(r)) if kind == "refuses" else \
            ("FAIL", f"refused (not listed in expected_refusals.txt): {r}")
    except Failure as f:
        status, note = ("known-fail", str(f)) if kind == "fails" else ("FAIL", str(f))
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return status, note, time.time() - start


def markdown(results, stages, models):
    lines = ["| model | " + " | ".join(stages) + " |",
             "| --- | " + " | ".join("---" for _ in stages) + " |"]
    symbol = {"pass": "✓", "refused": "refused", "FAIL": "**FAIL**", "known-fail": "known fail",
              "n/a": ""}
    for name in models:
        row = [symbol[results[(name, s)][0]] for s in stages]
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    if sys.argv[1:] == ["--list-stages"]:
        print(";".join(STAGES))
        return 0
    p.add_argument("pare")
    p.add_argument("zoo")
    p.add_argument("model", nargs="?")
    p.add_argument("stage", nargs="?")
    p.add_argument("--all", action="store_true")
    p.add_argument("--models", nargs="*")
    p.add_argument("--stages", nargs="*")
    p.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    p.add_argument("--markdown")
    p.add_argument("--json")
    p.add_argument("--keep", help="keep the cell's work folder here")
    a = p.parse_args()
    zoo = pathlib.Path(a.zoo)
    if not ORT_MODULES.is_dir() or not (zoo / "zoo.json").exists():
        print(f"skipped: needs onnxruntime-node ({ORT_MODULES}) and the zoo ({zoo})")
        return 77
    if not a.all:
        if not (zoo / a.model / "model.onnx").exists():
            print(f"skipped: {a.model} is not built in {zoo}")
            return 77
        status, note, seconds = cell(a.pare, zoo, a.model, a.stage, a.keep)
        print(f"{a.model} x {a.stage}: {status} ({seconds:.1f} s) {note}")
        return 1 if status == "FAIL" else 0
    models = a.models or zoo_catalog.names()
    stages = a.stages or list(STAGES)
    cells = [(m, s) for m in models for s in stages]
    results = {}
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as pool:
        futures = {pool.submit(cell, a.pare, zoo, m, s): (m, s) for m, s in cells}
        for future in concurrent.futures.as_completed(futures):
            key = futures[future]
            results[key] = future.result()
            status, note, seconds = results[key]
            print(f"{key[0]} x {key[1]}: {status} ({seconds:.1f} s) {note}", flush=True)
    if a.markdown:
        pathlib.Path(a.markdown).write_text(markdown(results, stages, models))
    if a.json:
        pathlib.Path(a.json).write_text(json.dumps(
            {f"{m}.{s}": dict(status=r[0], note=r[1], seconds=round(r[2], 2))
             for (m, s), r in results.items()}, indent=1))
    failed = [k for k, r in results.items() if r[0] == "FAIL"]
    print(f"{len(cells) - len(failed)} of {len(cells)} cells pass or refuse as expected")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
