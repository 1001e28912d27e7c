#!/usr/bin/python3
"""llama.cpp's own quantizer (llama_model_quantize in the libllama that
node-llama-cpp ships, scripts/gguf/fetch.sh), called through ctypes: the
reference pare's GGUF K-quants are compared with. Never used by pare.

usage: llama_quantize.py IN.gguf OUT.gguf FTYPE [--pure] [--imatrix FILE]
  FTYPE: llama.cpp's LLAMA_FTYPE number (Q4_K_S 14, Q4_K_M 15, Q5_K_S 16,
  Q5_K_M 17, Q6_K 18); --pure: every tensor in the main type, no mix;
  --imatrix: an importance matrix in llama.cpp's GGUF form (as llama-imatrix
  or `pare convert --write-imatrix` writes it), whose mean squares weigh the
  rounding, as llama-quantize --imatrix does.
"""
import ctypes
import glob
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent.parent / "tests"))

CACHE = pathlib.Path(os.environ.get("PARE_CACHE", pathlib.Path.home() / ".cache/pare"))


def library_dir():
    found = sorted(glob.glob(str(CACHE / "llama/node_modules/@node-llama-cpp/*/bins/*/libllama*")))
    return pathlib.Path(found[0]).parent if found else None


class _Params(ctypes.Structure):
    # llama_model_quantize_params is returned by value; its size changes
    # between versions, so it lands in a buffer larger than any of them.
    # The fields used here are at fixed offsets in every version: nthread
    # (int32 at 0), ftype (int32 at 4) and pure (bool at 19).
    _fields_ = [("raw", ctypes.c_uint8 * 512)]


class _ImatrixEntry(ctypes.Structure):
    # struct llama_model_imatrix_data: one weight's mean squares; an array
    # of them ends with a null name.
    _fields_ = [("name", ctypes.c_char_p), ("data", ctypes.POINTER(ctypes.c_float)),
                ("size", ctypes.c_size_t)]


IMATRIX_OFFSET = 24  # after nthread, ftype, two types and six bools


def imatrix_entries(path):
    """The ctypes array llama_model_quantize takes, and the arrays it points at."""
    import numpy as np
    from gguf_reader import Gguf
    g = Gguf(path)
    names = sorted(n[:-len(".in_sum2")] for n in g.tensors if n.endswith(".in_sum2"))
    entries = (_ImatrixEntry * (len(names) + 1))()
    keep = []
    for i, name in enumerate(names):
        mean = (g.tensor(name + ".in_sum2").ravel() / g.tensor(name + ".counts").ravel()[0])
        values = np.ascontiguousarray(mean, dtype=np.float32)
        keep.append((name.encode(), values))
        entries[i].name = keep[-1][0]
        entries[i].data = values.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        entries[i].size = values.size
    return entries, keep


def quantize(src, dst, ftype, pure=False, imatrix=None):
    libs = library_dir()
    if libs is None:
        raise FileNotFoundError("node-llama-cpp's libllama not found (scripts/gguf/fetch.sh)")
    for dep in sorted(libs.glob("libggml-base*")) + sorted(libs.glob("libggml.*")):
        ctypes.CDLL(str(dep), mode=ctypes.RTLD_GLOBAL)
    llama = ctypes.CDLL(str(sorted(libs.glob("libllama.*"))[0]), mode=ctypes.RTLD_GLOBAL)
    llama.llama_model_quantize_default_params.restype = _Params
    llama.llama_model_quantize.restype = ctypes.c_uint32
    llama.llama_model_quantize.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(_Params)]
    params = llama.llama_model_quantize_default_params()
    ctypes.memmove(ctypes.addressof(params.raw) + 4, ctypes.byref(ctypes.c_int32(ftype)), 4)
    params.raw[19] = 1 if pure else 0
    if imatrix:
        entries, keep = imatrix_entries(imatrix)
        pointer = ctypes.c_void_p(ctypes.addressof(entries))
        ctypes.memmove(ctypes.addressof(params.raw) + IMATRIX_OFFSET, ctypes.byref(pointer), 8)
    if llama.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params)):
        raise RuntimeError(f"llama_model_quantize failed on {src}")


if __name__ == "__main__":
    rest = sys.argv[4:]
    matrix = rest[rest.index("--imatrix") + 1] if "--imatrix" in rest else None
    quantize(sys.argv[1], sys.argv[2], int(sys.argv[3]), "--pure" in rest, matrix)
