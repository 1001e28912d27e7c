#!/usr/bin/python3
"""Checks that the usage example at the top of each public header is the
one tests/doc/header_examples.cc compiles: every line of the header's first
indented comment block ("//   ...") must appear there (whitespace aside), in the function
marked "// example: HEADER". The public headers of every stage must be
covered.

usage: check_header_examples.py ROOT     exit 0 clean, 1 with one line per problem
"""
import pathlib
import re
import sys

# Each stage's public header, plus the core and runtime entry points.
REQUIRED = [
    "core/onnx_io.h", "core/stage.h", "core/quant_format.h", "core/rewrite.h", "runtime/session.h", "quantize/static_int8.h",
    "quantize/weight_only.h", "prune/prune.h", "evaluate/evaluate.h", "analysis/device.h",
    "analysis/memory_account.h", "artifacts/artifact.h", "artifacts/gguf_llama.h", "plan/fit.h",
    "plan/sweep.h", "plan/mixed_precision.h",
]


def example_lines(header):
    """The first run of '//   ' lines in the header's opening comment."""
    out = []
    for line in header.read_text().splitlines():
        if not line.startswith("//"):
            break
        if line.startswith("//   "):
            out.append(line[5:].strip())
        elif out:
            break
    return out


def examples_in(doc):
    """HEADER -> the stripped lines of the function that follows its marker."""
    found, current = {}, None
    for line in doc.read_text().splitlines():
        marker = re.match(r"// example: (\S+)", line)
        if marker:
            current = found.setdefault(marker.group(1), [])
        elif current is not None:
            current.append(line.strip())
    return found


def main():
    root = pathlib.Path(sys.argv[1])
    doc = root / "tests" / "doc" / "header_examples.cc"
    covered = examples_in(doc)
    problems = []
    for name in REQUIRED:
        if name not in covered:
            problems.append(f"{name}: its example is not compiled in {doc.relative_to(root)}")
    for name, body in covered.items():
        lines = example_lines(root / name)
        if not lines:
            problems.append(f"{name}: no example block at the top of the header")
        # Compared without whitespace: clang-format may wrap the compiled copy.
        code = re.sub(r"\s+", "", "".join(body))
        for line in lines:
            if re.sub(r"\s+", "", line) not in code:
                problems.append(f"{name}: example line not compiled: {line}")
    for p in problems:
        print(p)
    if problems:
        return 1
    print(f"check_header_examples: {len(covered)} header examples match what compiles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
