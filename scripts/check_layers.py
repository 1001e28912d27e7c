#!/usr/bin/python3
"""Checks pare's architecture: which room may include which, and no cycles.

pare's code lives in rooms (top-level folders), each a library. A room may
include only the rooms listed for it below; this table is the architecture,
written down once. quantize, prune and evaluate are peers: none includes
another. Within and across rooms, no two units (a NAME.h with its NAME.cc)
may include each other, directly or through others.

usage: check_layers.py [ROOT]     exit 0 clean, 1 with one line per problem
"""
import pathlib
import re
import sys

# room: the rooms it may include (besides itself)
ALLOWED = {
    "core": [],
    "runtime": ["core"],
    "data": ["core", "runtime"],
    "quantize": ["core", "runtime", "data"],
    "prune": ["core", "runtime", "data"],
    "evaluate": ["core", "runtime", "data"],
    "analysis": ["core", "runtime"],
    "artifacts": ["core", "runtime", "analysis"],
    "plan": ["core", "runtime", "data", "quantize", "prune", "evaluate", "analysis", "artifacts"],
    "cli": ["core", "runtime", "data", "quantize", "prune", "evaluate", "analysis", "artifacts",
            "plan"],
}
# Tests may reach into any room; they are not part of the layering.
TEST_FILE = re.compile(r"(_test\.cc|test_util\.h|test_models\.h)$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/([A-Za-z0-9_./]+)"', re.M)


def sources(root):
    for room in ALLOWED:
        for path in sorted((root / room).rglob("*")):
            if path.suffix in (".h", ".cc"):
                yield room, path


def unit(root, path):
    return str(path.relative_to(root).with_suffix(""))


def find_cycles(graph):
    """Tarjan's strongly connected components with more than one unit."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).parent.parent)
    problems, graph = [], {}
    for room, path in sources(root):
        text = path.read_text(errors="replace")
        is_test = bool(TEST_FILE.search(path.name))
        for target_room, rest in INCLUDE.findall(text):
            if target_room not in ALLOWED:
                continue  # absl/, onnx/, nlohmann/: dependencies, not rooms
            rel = path.relative_to(root)
            if not is_test and target_room != room and target_room not in ALLOWED[room]:
                problems.append(f"{rel}: includes {target_room}/{rest}, but {room} may include "
                                f"only {', '.join(ALLOWED[room]) or 'nothing'}")
            target = root / target_room / rest
            if not is_test and target.exists():
                a, b = unit(root, path), unit(root, target)
                if a != b:
                    graph.setdefault(a, set()).add(b)
    for component in find_cycles(graph):
        problems.append("include cycle between units: " + " <-> ".join(component))
    for line in problems:
        print(line)
    if problems:
        print(f"check_layers: {len(problems)} problem(s); the allowed edges are in {__file__}")
        return 1
    print(f"check_layers: {len(graph)} units, every include follows the rooms, no cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
