#!/usr/bin/python3
"""Proves scripts/check_layers.py can fail: a backwards include between
rooms, two peer stages including each other, and a cycle inside one room
are each reported, and a tree that follows the rooms passes."""
import pathlib
import subprocess
import sys
import tempfile

CHECK = pathlib.Path(__file__).resolve().parent.parent / "scripts" / "check_layers.py"


def run(files):
    with tempfile.TemporaryDirectory() as tmp:
        root = pathlib.Path(tmp)
        for name, includes in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(f'#include "{i}"\n' for i in includes))
        done = subprocess.run([sys.executable, str(CHECK), str(root)], capture_output=True, text=True)
        return done.returncode, done.stdout


def expect(label, files, rc, needle):
    got_rc, out = run(files)
    if got_rc != rc or needle not in out:
        print(f"FAIL {label}: rc {got_rc} (want {rc}), output:\n{out}")
        return False
    print(f"ok   {label}")
    return True


ok = all([
    expect("clean tree passes", {"core/a.h": [], "runtime/b.cc": ["core/a.h"]}, 0, "no cycles"),
    expect("core including runtime fails", {"core/a.cc": ["runtime/b.h"], "runtime/b.h": []}, 1,
           "core/a.cc: includes runtime/b.h, but core may include only nothing"),
    expect("evaluate including quantize fails",
           {"evaluate/m.cc": ["quantize/int8.h"], "quantize/int8.h": []}, 1,
           "evaluate/m.cc: includes quantize/int8.h"),
    expect("cycle inside a room fails", {"prune/a.h": ["prune/b.h"], "prune/b.h": ["prune/a.h"]}, 1,
           "include cycle between units: prune/a <-> prune/b"),
    expect("tests may reach anywhere", {"core/a_test.cc": ["plan/fit.h"], "plan/fit.h": []}, 0,
           "no cycles"),
])
sys.exit(0 if ok else 1)
