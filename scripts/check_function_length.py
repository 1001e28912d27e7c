#!/usr/bin/python3
"""Lists functions longer than a limit (80 lines by default), outside the
operator kernels (runtime/ops/, runtime/gemm*), which are allowed their
loops. A function starts at a column-0 declaration whose statement ends in
"{" and runs to its matching brace; lambdas count toward their function.

usage: check_function_length.py [ROOT] [--limit N] [--allow FILE] [--report]
  exit 0 when none is over the limit, 1 with one line per function
  --allow FILE: "PATH:NAME LINES" lines, functions still over the limit and
                to be split; each may not grow past LINES (a ratchet)
  --report: list every function over the limit, longest first, and exit 0
"""
import pathlib
import re
import sys

ROOMS = ["core", "runtime", "quantize", "prune", "evaluate", "analysis", "artifacts", "plan", "cli"]
KERNELS = re.compile(r"^runtime/(ops/|gemm)")
NOT_FUNCTION = re.compile(r"^(namespace|struct|class|enum|union|extern|template\s*<[^>]*>\s*(struct|class))\b")


def strip(line):
    """The line without string and character literals and // comments."""
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])*'", "''", line)
    return line.split("//", 1)[0]


def functions(path):
    lines = [strip(l) for l in path.read_text(errors="replace").splitlines()]
    i = 0
    while i < len(lines):
        line = lines[i]
        if line[:1].isalpha() and not NOT_FUNCTION.match(line) and "(" in line:
            # The declaration runs to the line that opens its body.
            j = i
            while j < len(lines) and "{" not in lines[j] and not lines[j].rstrip().endswith(";"):
                j += 1
            if j < len(lines) and "{" in lines[j] and "=" not in "".join(lines[i:j + 1]).split("(")[0]:
                depth, k = 0, j
                while k < len(lines):
                    depth += lines[k].count("{") - lines[k].count("}")
                    if depth <= 0:
                        break
                    k += 1
                yield i + 1, k - i + 1, line.strip()[:80]
                i = k
        i += 1


def main():
    args = sys.argv[1:]
    report = "--report" in args
    limit = int(args[args.index("--limit") + 1]) if "--limit" in args else 80
    values = {args[i + 1] for i, a in enumerate(args) if a in ("--limit", "--allow")}
    positional = [a for a in args if not a.startswith("--") and a not in values]
    root = pathlib.Path(positional[0]) if positional else pathlib.Path(__file__).parent.parent
    allowed = {}
    if "--allow" in args:
        for row in pathlib.Path(args[args.index("--allow") + 1]).read_text().splitlines():
            if row.strip() and not row.startswith("#"):
                where, lines = row.split()
                allowed[where] = int(lines)
    long = []
    for room in ROOMS:
        for path in sorted((root / room).rglob("*.cc")):
            rel = str(path.relative_to(root))
            if KERNELS.match(rel) or rel.endswith("_test.cc"):
                continue
            for start, length, text in functions(path):
                if length > limit:
                    long.append((length, rel, start, text))
    long.sort(reverse=True)
    failing = 0
    for length, rel, start, text in long:
        name = re.search(r"([A-Za-z_][A-Za-z0-9_:]*)\(", text).group(1)
        budget = allowed.get(f"{rel}:{name}")
        over = budget is None or length > budget
        failing += over
        if over or report:
            note = "" if budget is None else f" (allowed {budget} until it is split)"
            print(f"{rel}:{start}: {name} is {length} lines{note}")
    print(f"check_function_length: {len(long)} function(s) over {limit} lines, "
          f"{len(long) - failing} of them allowed for now")
    return 0 if report or failing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
