"""The plain-data protocol between the grader and the student's process.

The grader never unpickles anything and never runs student code: it sends
requests to the student's process and reads back *plain data* only. A message
is one frame::

    u32 length of the JSON header | JSON header | for each buffer: u64 length | raw bytes

Values travel as a tagged JSON tree. Tensors and NumPy arrays are a dtype from a
fixed list, a shape, and raw little-endian bytes in one of the frame's buffers;
anything else a student might return (a model, a generator, a custom object)
becomes an :class:`Opaque` description that can be judged ("returned a
``Foo``") but never rebuilt. The same codec runs inside ``check()``, so a
notebook and the grader judge exactly the same values.
"""
import json
import math
import os
import select
import struct
import time
from dataclasses import dataclass

import numpy as np
import torch

#: Largest frame either side accepts; a bigger answer is reported, never read.
MAX_FRAME_BYTES = 64 * 2**20
MAX_DEPTH = 20
MAX_ITEMS = 10_000

TORCH_DTYPES = {
    str(dtype).removeprefix("torch."): dtype
    for dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64,
                  torch.complex128, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool)
}
NUMPY_DTYPES = {name: np.dtype(name) for name in (
    "float16", "float32", "float64", "complex64", "complex128",
    "uint8", "int8", "int16", "int32", "int64", "bool")}


class ProtocolError(Exception):
    """A frame that is malformed, too large, or cut short."""


@dataclass(frozen=True)
class Opaque:
    """A returned value that is not plain data: kept as a description and a hint."""

    description: str
    hint: str = ""


# ----------------------------------------------------------------------------- values


def encode(value):
    """(JSON-able tree, list of byte buffers) for a plain value; anything else becomes Opaque."""
    buffers = []
    return _encode(value, buffers, 0), buffers


def _encode(value, buffers, depth):
    if depth >= MAX_DEPTH:   # the judge reads no deeper than MAX_DEPTH
        return {"t": "opaque", "description": "a structure nested too deeply"}
    if value is None or isinstance(value, (bool, str)):
        return {"t": "json", "v": value}
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return {"t": "int", "v": str(int(value))}
    if isinstance(value, (float, np.floating)):
        return {"t": "float", "v": repr(float(value))}
    if isinstance(value, np.bool_):
        return {"t": "json", "v": bool(value)}
    if isinstance(value, (tuple, list)):
        if len(value) > MAX_ITEMS:
            return {"t": "opaque", "description": f"a {type(value).__name__} of {len(value)} items"}
        kind = "tuple" if isinstance(value, tuple) else "list"
        return {"t": kind, "items": [_encode(item, buffers, depth + 1) for item in value]}
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {"t": "dict", "items": {key: _encode(item, buffers, depth + 1) for key, item in value.items()}}
    if isinstance(value, torch.Tensor):
        return _encode_tensor(value, buffers)
    if isinstance(value, np.ndarray) and value.dtype.name in NUMPY_DTYPES:
        buffers.append(np.ascontiguousarray(value).astype(value.dtype.newbyteorder("<")).tobytes())
        return {"t": "ndarray", "dtype": value.dtype.name, "shape": list(value.shape), "buffer": len(buffers) - 1}
    return {"t": "opaque", "description": f"a {type(value).__module__}.{type(value).__qualname__} object"}


def _encode_tensor(tensor, buffers):
    tensor = tensor.detach()
    dtype = str(tensor.dtype).removeprefix("torch.")
    if tensor.device.type != "cpu":
        return {"t": "opaque", "description": f"a tensor on {tensor.device}",
                "hint": "the reference returns a CPU tensor: compute on the device of the inputs (x.device), "
                        "or call .cpu() on the result"}
    if dtype not in TORCH_DTYPES or tensor.layout != torch.strided:
        return {"t": "opaque", "description": f"a {dtype} tensor with layout {tensor.layout}"}
    if tensor.is_neg() or tensor.is_conj():
        tensor = tensor.resolve_neg().resolve_conj()
    flat = tensor.contiguous().reshape(-1)
    raw = flat.view(torch.int16) if tensor.dtype in (torch.float16, torch.bfloat16) else flat
    buffers.append(raw.numpy().tobytes())
    return {"t": "tensor", "dtype": dtype, "shape": list(tensor.shape), "buffer": len(buffers) - 1}


def decode(tree, buffers):
    """The plain value an :func:`encode` tree describes; raises ProtocolError on anything else."""
    try:
        return _decode(tree, buffers, 0)
    except ProtocolError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, RuntimeError) as error:
        raise ProtocolError(f"malformed value: {error}") from None


def _decode(tree, buffers, depth):
    if depth > MAX_DEPTH or not isinstance(tree, dict):
        raise ProtocolError("malformed value tree")
    tag = tree["t"]
    if tag == "json":
        if tree["v"] is not None and not isinstance(tree["v"], (bool, str)):
            raise ProtocolError("malformed scalar")
        return tree["v"]
    if tag == "int":
        return int(_short_string(tree["v"]))
    if tag == "float":
        return float(_short_string(tree["v"]))
    if tag in ("tuple", "list"):
        items = [_decode(item, buffers, depth + 1) for item in _checked_list(tree["items"])]
        return tuple(items) if tag == "tuple" else items
    if tag == "dict":
        if not isinstance(tree["items"], dict) or len(tree["items"]) > MAX_ITEMS:
            raise ProtocolError("malformed dict")
        return {str(key): _decode(item, buffers, depth + 1) for key, item in tree["items"].items()}
    if tag == "tensor":
        return _decode_array(tree, buffers, TORCH_DTYPES, _tensor_from_bytes)
    if tag == "ndarray":
        return _decode_array(tree, buffers, NUMPY_DTYPES, lambda raw, dtype, shape: np.frombuffer(
            raw, dtype=dtype.newbyteorder("<")).astype(dtype).reshape(shape))
    if tag == "opaque":
        return Opaque(_short_string(tree["description"]), _short_string(tree.get("hint", "")))
    raise ProtocolError(f"unknown value tag {tag!r}")


def _decode_array(tree, buffers, dtypes, build):
    dtype = dtypes.get(tree["dtype"])
    shape = tree["shape"]
    if dtype is None or not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ProtocolError("malformed array header")
    raw = buffers[tree["buffer"]]
    itemsize = torch.empty((), dtype=dtype).element_size() if isinstance(dtype, torch.dtype) else dtype.itemsize
    if len(raw) != math.prod(shape) * itemsize:
        raise ProtocolError("array bytes do not match its shape and dtype")
    return build(raw, dtype, shape)


def _tensor_from_bytes(raw, dtype, shape):
    if not raw:
        return torch.empty(shape, dtype=dtype)
    if dtype in (torch.float16, torch.bfloat16):   # sent as their 16-bit patterns (NumPy has no bfloat16)
        return torch.frombuffer(bytearray(raw), dtype=torch.int16).view(dtype).reshape(shape).clone()
    return torch.frombuffer(bytearray(raw), dtype=dtype).reshape(shape).clone()


def _short_string(value, limit=10_000):
    if not isinstance(value, str):
        raise ProtocolError("expected a string")
    return value[:limit]


def _checked_list(items):
    if not isinstance(items, list) or len(items) > MAX_ITEMS:
        raise ProtocolError("malformed list")
    return items


def to_plain(value):
    """What the grader would see of ``value``: the round trip through the protocol."""
    tree, buffers = encode(value)
    return decode(tree, buffers)


# ----------------------------------------------------------------------------- frames


def pack_frame(header, buffers=()):
    """The bytes of one frame: a JSON header (a dict) and its raw buffers."""
    header = dict(header, buffers=len(buffers))
    text = json.dumps(header, allow_nan=False).encode()
    parts = [struct.pack("<I", len(text)), text]
    for buffer in buffers:
        parts += [struct.pack("<Q", len(buffer)), bytes(buffer)]
    frame = b"".join(parts)
    if len(frame) > MAX_FRAME_BYTES:
        raise ProtocolError(f"a message of {len(frame) / 2**20:.0f} MB is larger than the "
                            f"{MAX_FRAME_BYTES / 2**20:.0f} MB limit")
    return frame


def write_frame(fd, header, buffers=(), deadline=None):
    """Send one frame; with a deadline (time.monotonic()), give up with TimeoutError when it passes."""
    view = memoryview(pack_frame(header, buffers))
    while view:
        if deadline is not None:
            _wait(fd, deadline, writing=True)
        view = view[os.write(fd, view):]


class FrameReader:
    """Reads frames from a file descriptor, each within a deadline, never more than MAX_FRAME_BYTES."""

    def __init__(self, fd):
        self.fd = fd
        self.pending = bytearray()

    def read(self, deadline=None):
        """(header dict, list of buffers) of the next frame; EOFError when the other side is gone."""
        (size,) = struct.unpack("<I", self._take(4, deadline))
        if size > MAX_FRAME_BYTES:
            raise ProtocolError("frame header too large")
        try:
            header = json.loads(self._take(size, deadline))
        except (ValueError, RecursionError) as error:
            raise ProtocolError(f"frame header is not JSON: {error}") from None
        if not isinstance(header, dict) or not isinstance(header.get("buffers"), int) or \
                not 0 <= header["buffers"] <= MAX_ITEMS:
            raise ProtocolError("frame header is not a JSON object with a buffer count")
        buffers, total = [], size
        for _ in range(header["buffers"]):
            (length,) = struct.unpack("<Q", self._take(8, deadline))
            total += length
            if total > MAX_FRAME_BYTES:
                raise ProtocolError(f"the answer is larger than the {MAX_FRAME_BYTES / 2**20:.0f} MB limit")
            buffers.append(self._take(length, deadline))
        return header, buffers

    def _take(self, count, deadline):
        while len(self.pending) < count:
            if deadline is not None:
                _wait(self.fd, deadline, writing=False)
            chunk = os.read(self.fd, max(count - len(self.pending), 1 << 16))
            if not chunk:
                raise EOFError("the other process closed the pipe")
            self.pending += chunk
        taken = bytes(self.pending[:count])
        del self.pending[:count]
        return taken


def _wait(fd, deadline, writing):
    remaining = deadline - time.monotonic()
    readable, writable, _ = select.select([] if writing else [fd], [fd] if writing else [], [], max(remaining, 0))
    if not readable and not writable:
        raise TimeoutError("no answer before the time limit")
