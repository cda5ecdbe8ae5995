"""One random generator for a batch of stores, with a stream per store.

Store ``i`` of a batch must draw exactly the numbers a single store seeded
alike draws, whatever B is. So every store owns two PCG64 streams (one for
normals, one for uniforms, spawned from its seed), and all stores consume their
streams in lock-step: a call ``rng.normal(n)`` takes the next ``n`` numbers of
*every* store's stream and returns them as a ``(B, n)`` array.

The rule that keeps this exact: how many numbers a call takes may depend on
static params, never on what happens in other stores (or in this one).

Uniforms (every tick) are stepped by one compiled pass over all stores' PCG64
states, straight into a contiguous ``(B, n)`` array: the same numbers NumPy's
``Generator(PCG64).random`` gives (tests/test_rng.py), without a Python loop over
stores, a buffer to refill or a strided copy out of it. Normals (reset only) come
from NumPy's generators in buffered chunks, so that loop runs once per chunk.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

DEFAULT_CHUNK = 4096
# PCG64 (XSL-RR 128/64, NumPy's PCG64): state = state * MULT + inc, 128-bit.
_MULT_HI, _MULT_LO = np.uint64(0x2360ED051FC65DA4), np.uint64(0x4385DF649FCCF645)
_M64 = (1 << 64) - 1


@intrinsic
def _mulhi(typingctx, a, b):
    """High 64 bits of the 128-bit product of two uint64."""
    sig = types.uint64(types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        i128 = ir.IntType(128)
        prod = builder.mul(builder.zext(args[0], i128), builder.zext(args[1], i128))
        return builder.trunc(builder.lshr(prod, ir.Constant(i128, 64)), ir.IntType(64))

    return sig, codegen


@numba.njit(cache=True, nogil=True)
def _pcg64_random(state, out):
    """Row b of ``out`` (B, n) gets store b's next n doubles, as NumPy's ``random()``:
    a PCG64 step, the XSL-RR output, its top 53 bits. ``state`` (B, 4) uint64 rows:
    state high, low, increment high, low; advanced in place."""
    B, n = out.shape
    for b in range(B):
        hi, lo, inc_hi, inc_lo = state[b, 0], state[b, 1], state[b, 2], state[b, 3]
        for j in range(n):
            m = lo * _MULT_LO
            lo_new = m + inc_lo
            hi = (
                _mulhi(lo, _MULT_LO)  # pyright: ignore[reportCallIssue]  (numba intrinsic)
                + lo * _MULT_HI
                + hi * _MULT_LO
                + inc_hi
                + np.uint64(lo_new < m)
            )
            lo = lo_new
            x = hi ^ lo
            r = hi >> np.uint64(58)
            x = (x >> r) | (x << ((np.uint64(64) - r) & np.uint64(63)))
            out[b, j] = np.float64(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)
        state[b, 0], state[b, 1] = hi, lo


def _pcg64_words(gen: np.random.Generator) -> list[int]:
    """A PCG64 generator's state as the four uint64 words of ``_pcg64_random``."""
    st = gen.bit_generator.state["state"]
    s, inc = st["state"], st["inc"]
    return [s >> 64, s & _M64, inc >> 64, inc & _M64]


class _Normals:
    """Buffered per-store streams of float32 standard normals."""

    def __init__(self, gens: list[np.random.Generator], chunk: int):
        self.gens = gens
        self.chunk = chunk
        self.buf = np.empty((len(gens), chunk), dtype=np.float32)
        self.pos = chunk  # empty: the first take refills

    def take(self, n: int) -> np.ndarray:
        if n > self.chunk:
            # Rare large request: draw directly, store by store, in stream order.
            left = self.chunk - self.pos
            out = np.empty((len(self.gens), n), dtype=np.float32)
            out[:, :left] = self.buf[:, self.pos :]
            for i, gen in enumerate(self.gens):
                gen.standard_normal(out=out[i, left:], dtype=np.float32)
            self.pos = self.chunk
            return out
        if self.pos + n > self.chunk:
            left = self.chunk - self.pos
            self.buf[:, :left] = self.buf[:, self.pos :]
            for i, gen in enumerate(self.gens):
                gen.standard_normal(out=self.buf[i, left:], dtype=np.float32)
            self.pos = 0
        out = self.buf[:, self.pos : self.pos + n]
        self.pos += n
        return out

    def reseed_one(self, i: int, gen: np.random.Generator) -> None:
        """Give store ``i`` a fresh stream that starts at the current cursor."""
        self.gens[i] = gen
        if self.pos < self.chunk:
            gen.standard_normal(out=self.buf[i, self.pos :], dtype=np.float32)


def _store_generators(seed: int) -> tuple[np.random.Generator, np.random.Generator]:
    ss = np.random.SeedSequence(int(seed))
    a, b = ss.spawn(2)
    return np.random.Generator(np.random.PCG64(a)), np.random.Generator(np.random.PCG64(b))


class BatchRNG:
    """The batch's random generator: ``normal(n)`` and ``uniform(n)`` give ``(B, n)`` arrays.

    ``seeds[i]`` seeds store ``i``; a single store is ``BatchRNG([seed])``.
    """

    def __init__(self, seeds: Sequence[int], chunk: int = DEFAULT_CHUNK):
        seeds = [int(s) for s in seeds]
        if not seeds:
            raise ValueError("BatchRNG needs at least one seed")
        if any(s < 0 for s in seeds):
            raise ValueError(f"seeds must be non-negative integers, got {seeds}")
        pairs = [_store_generators(s) for s in seeds]
        self.seeds = list(seeds)
        self._normal = _Normals([p[0] for p in pairs], chunk)
        self._pcg = np.array([_pcg64_words(p[1]) for p in pairs], np.uint64)
        self._views: dict[int, np.ndarray] = {}

    @property
    def batch_size(self) -> int:
        return len(self.seeds)

    def normal(self, *shape: int) -> np.ndarray:
        """Standard normals, float32, shape ``(B, *shape)`` (a fresh copy)."""
        n = math.prod(shape)  # not np.prod: ~10 us a call, twice a tick
        return self._normal.take(n).reshape((self.batch_size, *shape)).copy()

    def uniform(self, *shape: int, copy: bool = True) -> np.ndarray:
        """Uniforms on [0, 1), float64, shape ``(B, *shape)``, C-contiguous: a fresh array,
        or with ``copy=False`` one kept per size and overwritten by the next call of that
        size, to read only and only until the next ``uniform`` call (the simulator's own
        draws, used at once: no allocation a tick)."""
        n = math.prod(shape)  # not np.prod: ~10 us a call, twice a tick
        if copy:
            out = np.empty((self.batch_size, n))
        else:
            out = self._views.get(n)
            if out is None:
                out = self._views[n] = np.empty((self.batch_size, n))
        _pcg64_random(self._pcg, out)
        return out.reshape((self.batch_size, *shape)) if len(shape) > 1 else out

    def reseed(self, index: int, seed: int) -> None:
        """Restart store ``index``'s streams from ``seed`` (vector-env autoreset)."""
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        gn, gu = _store_generators(seed)
        self.seeds[index] = int(seed)
        self._normal.reseed_one(index, gn)
        self._pcg[index] = _pcg64_words(gu)
