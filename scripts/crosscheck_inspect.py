#!/usr/bin/python3
"""Cross-checks `pare inspect --json` against Debian's python3-onnx.

For each model: parameter count and bytes (initializers plus Constant-node
tensors, in all subgraphs), per-dtype totals, node count and op histogram must
agree exactly. Exits non-zero on any mismatch.

usage: crosscheck_inspect.py PARE_BINARY (MODEL... | --dir DIR)
Exits 77 (skipped) when --dir does not exist or holds no model.
"""
import collections
import json
import subprocess
import sys

import onnx
from onnx import numpy_helper

DTYPE_NAMES = {1: "float", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
               7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "double",
               12: "uint32", 13: "uint64", 16: "bfloat16"}


def tensor_totals(tensor, base_dir):
    if tensor.data_location == onnx.TensorProto.EXTERNAL:
        onnx.external_data_helper.load_external_data_for_tensor(tensor, base_dir)
    array = numpy_helper.to_array(tensor)
    nbytes = 0 if tensor.data_type == onnx.TensorProto.STRING else array.nbytes
    return array.size, nbytes


def expected_summary(path):
    import os
    base_dir = os.path.dirname(path)
    model = onnx.load(path, load_external_data=False)
    totals = {"count": 0, "bytes": 0, "nodes": 0}
    by_dtype = collections.defaultdict(lambda: [0, 0, 0])
    ops = collections.Counter()

    def add(tensor):
        n, b = tensor_totals(tensor, base_dir)
        totals["count"] += n
        totals["bytes"] += b
        row = by_dtype[DTYPE_NAMES[tensor.data_type]]
        row[0] += 1
        row[1] += n
        row[2] += b

    def walk(graph):
        for t in graph.initializer:
            add(t)
        for node in graph.node:
            totals["nodes"] += 1
            domain = node.domain if node.domain not in ("", "ai.onnx") else ""
            ops[f"{domain}.{node.op_type}" if domain else node.op_type] += 1
            for attr in node.attribute:
                if node.op_type == "Constant" and not domain and attr.type == onnx.AttributeProto.TENSOR:
                    add(attr.t)
                if attr.type == onnx.AttributeProto.GRAPH:
                    walk(attr.g)
                for g in attr.graphs:
                    walk(g)

    walk(model.graph)
    return totals, dict(by_dtype), dict(ops)


def check(pare, path):
    got = json.loads(subprocess.run([pare, "inspect", "--json", path], check=True,
                                    capture_output=True, text=True).stdout)
    totals, by_dtype, ops = expected_summary(path)
    errors = []
    if got["parameters"]["count"] != totals["count"]:
        errors.append(f"count {got['parameters']['count']} != {totals['count']}")
    if got["parameters"]["bytes"] != totals["bytes"]:
        errors.append(f"bytes {got['parameters']['bytes']} != {totals['bytes']}")
    if got["nodes"] != totals["nodes"]:
        errors.append(f"nodes {got['nodes']} != {totals['nodes']}")
    if got["op_histogram"] != ops:
        errors.append("op histogram differs")
    got_dtypes = {k: [v["tensors"], v["elements"], v["bytes"]]
                  for k, v in got["parameters"]["by_dtype"].items()}
    if got_dtypes != by_dtype:
        errors.append(f"by_dtype {got_dtypes} != {by_dtype}")
    status = "ok" if not errors else "MISMATCH " + "; ".join(errors)
    print(f"{path}: {totals['count']} parameters, {totals['bytes']} bytes: {status}")
    return not errors


def main():
    pare, models = sys.argv[1], sys.argv[2:]
    if models[:1] == ["--dir"]:
        import pathlib
        root = pathlib.Path(models[1])
        models = sorted(str(p) for p in root.rglob("*.onnx")) if root.is_dir() else []
        if not models:
            print(f"no models under {root}: skipped")
            sys.exit(77)
    ok = all([check(pare, m) for m in models])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
