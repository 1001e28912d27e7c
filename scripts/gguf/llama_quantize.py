#!/usr/bin/python3
"""llama.cpp's own quantizer (llama_model_quantize in the libllama that
node-llama-cpp ships, scripts/gguf/fetch.sh), called through ctypes: the
reference pare's GGUF K-quants are compared with. Never used by pare.

usage: llama_quantize.py IN.gguf OUT.gguf FTYPE [--pure]
  FTYPE: llama.cpp's LLAMA_FTYPE number (Q4_K_S 14, Q4_K_M 15, Q5_K_S 16,
  Q5_K_M 17, Q6_K 18); --pure: every tensor in the main type, no mix.
"""
import ctypes
import glob
import os
import pathlib
import sys

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


def quantize(src, dst, ftype, pure=False):
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
    if llama.llama_model_quantize(str(src).encode(), str(dst).encode(), ctypes.byref(params)):
        raise RuntimeError(f"llama_model_quantize failed on {src}")


if __name__ == "__main__":
    quantize(sys.argv[1], sys.argv[2], int(sys.argv[3]), "--pure" in sys.argv[4:])
