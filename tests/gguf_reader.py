"""A small, independent GGUF v3 reader for the tests: it decodes F32, F16,
Q8_0, Q4_0 and Q4_1 tensors to float32 arrays [rows, row length] from the
format's description, so a check does not trust pare's own writer to read
back what it wrote; K-quant tensors (Q2_K to Q6_K) are read as raw
bytes, for comparison with llama.cpp's own files."""
import struct

import numpy as np

# GGUF metadata value types: struct format, or None for string/array.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9
F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K = 0, 1, 2, 3, 6, 7, 8, 10, 11, 12, 13, 14


class _Cursor:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, fmt):
        values = struct.unpack_from("<" + fmt, self.data, self.at)
        self.at += struct.calcsize("<" + fmt)
        return values[0] if len(values) == 1 else values

    def string(self):
        n = self.take("Q")
        s = bytes(self.data[self.at:self.at + n]).decode()
        self.at += n
        return s

    def value(self, kind):
        if kind == _STRING:
            return self.string()
        if kind == _ARRAY:
            item, count = self.take("I"), self.take("Q")
            return [self.value(item) for _ in range(count)]
        return self.take(_SCALARS[kind])


class Gguf:
    def __init__(self, path):
        self.data = memoryview(open(path, "rb").read())
        c = _Cursor(self.data)
        if bytes(self.data[:4]) != b"GGUF" or c.take("4xI") != 3:
            raise ValueError(f"{path}: not GGUF v3")
        tensors, kvs = c.take("Q"), c.take("Q")
        self.metadata = {}
        for _ in range(kvs):
            key = c.string()
            self.metadata[key] = c.value(c.take("I"))
        self.tensors = {}
        for _ in range(tensors):
            name = c.string()
            dims = [c.take("Q") for _ in range(c.take("I"))]
            self.tensors[name] = (dims, c.take("I"), c.take("Q"))
        align = self.metadata.get("general.alignment", 32)
        self.base = (c.at + align - 1) // align * align

    def type_of(self, name):
        return self.tensors[name][1]

    def raw(self, name):
        """The tensor's stored bytes, undecoded."""
        dims, kind, offset = self.tensors[name]
        count = int(np.prod(dims))
        return bytes(self.data[self.base + offset:self.base + offset + _bytes(kind, count)])

    def tensor(self, name):
        """The tensor as float32 [rows, ne0] (ne0: GGUF's first, contiguous dimension)."""
        dims, kind, offset = self.tensors[name]
        count = int(np.prod(dims))
        raw = np.frombuffer(self.data, np.uint8, offset=self.base + offset, count=_bytes(kind, count))
        return _decode(kind, raw, count).reshape(-1, dims[0])


# K-quant super-blocks: 256 values in this many bytes.
K_QUANTS = {Q2_K: 84, Q3_K: 110, Q4_K: 144, Q5_K: 176, Q6_K: 210}


def _bytes(kind, count):
    if kind in (F32, F16):
        return count * (4 if kind == F32 else 2)
    if kind in K_QUANTS:
        return count // 256 * K_QUANTS[kind]
    return count // 32 * {Q4_0: 18, Q4_1: 20, Q5_0: 22, Q5_1: 24, Q8_0: 34}[kind]


def _nibbles(qs):
    # Byte j holds element j (low nibble) and element j + 16 (high nibble).
    return np.concatenate([qs & 15, qs >> 4], axis=1).astype(np.float32)


def _decode(kind, raw, count):
    if kind == F32:
        return raw.view(np.float32).copy()
    if kind == F16:
        return raw.view(np.float16).astype(np.float32)
    if kind == Q8_0:
        b = raw.reshape(-1, 34)
        return (b[:, :2].copy().view(np.float16).astype(np.float32) * b[:, 2:].view(np.int8)).reshape(-1)
    if kind == Q4_0:
        b = raw.reshape(-1, 18)
        d = b[:, :2].copy().view(np.float16).astype(np.float32)
        return ((_nibbles(b[:, 2:]) - 8) * d).reshape(-1)
    if kind == Q4_1:
        b = raw.reshape(-1, 20)
        d = b[:, :2].copy().view(np.float16).astype(np.float32)
        m = b[:, 2:4].copy().view(np.float16).astype(np.float32)
        return (_nibbles(b[:, 4:]) * d + m).reshape(-1)
    raise ValueError(f"GGUF type {kind} not decoded")
