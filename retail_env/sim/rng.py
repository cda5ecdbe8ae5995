"""One random generator for a batch of stores, with a stream per store.

Store ``i`` of a batch must draw exactly the numbers a single store seeded
alike draws, whatever B is. So every store owns two NumPy generators (one for
normals, one for uniforms, spawned from its seed), and all stores consume their
streams in lock-step: a call ``rng.normal(n)`` takes the next ``n`` numbers of
*every* store's stream and returns them as a ``(B, n)`` array.

The rule that keeps this exact: how many numbers a call takes may depend on
static params, never on what happens in other stores (or in this one).
Numbers are produced in buffered chunks, so the Python loop over stores runs
once per chunk, not once per tick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

DEFAULT_CHUNK = 4096


class _Stream:
    """Buffered per-store streams of one distribution."""

    def __init__(self, gens: list[np.random.Generator], kind: str, chunk: int):
        self.gens = gens
        self.kind = kind
        self.chunk = chunk
        self.dtype = np.float32 if kind == "normal" else np.float64
        self.buf = np.empty((len(gens), chunk), dtype=self.dtype)
        self.pos = chunk  # empty: the first take refills

    def _draw(self, gen: np.random.Generator, n: int) -> np.ndarray:
        if self.kind == "normal":
            return gen.standard_normal(n, dtype=np.float32)
        return gen.random(n)

    def take(self, n: int) -> np.ndarray:
        if n > self.chunk:
            # Rare large request: draw directly, store by store, in stream order.
            left = self.chunk - self.pos
            out = np.empty((len(self.gens), n), dtype=self.dtype)
            out[:, :left] = self.buf[:, self.pos :]
            for i, gen in enumerate(self.gens):
                out[i, left:] = self._draw(gen, n - left)
            self.pos = self.chunk
            return out
        if self.pos + n > self.chunk:
            left = self.chunk - self.pos
            self.buf[:, :left] = self.buf[:, self.pos :]
            for i, gen in enumerate(self.gens):
                self.buf[i, left:] = self._draw(gen, self.chunk - left)
            self.pos = 0
        out = self.buf[:, self.pos : self.pos + n]
        self.pos += n
        return out

    def reseed_one(self, i: int, gen: np.random.Generator) -> None:
        """Give store ``i`` a fresh stream that starts at the current cursor."""
        self.gens[i] = gen
        if self.pos < self.chunk:
            self.buf[i, self.pos :] = self._draw(gen, self.chunk - self.pos)


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
        self._normal = _Stream([p[0] for p in pairs], "normal", chunk)
        self._uniform = _Stream([p[1] for p in pairs], "uniform", chunk)

    @property
    def batch_size(self) -> int:
        return len(self.seeds)

    def normal(self, *shape: int) -> np.ndarray:
        """Standard normals, float32, shape ``(B, *shape)`` (a fresh copy)."""
        n = math.prod(shape)  # not np.prod: ~10 us a call, twice a tick
        return self._normal.take(n).reshape((self.batch_size, *shape)).copy()

    def uniform(self, *shape: int, copy: bool = True) -> np.ndarray:
        """Uniforms on [0, 1), float64, shape ``(B, *shape)``: a fresh copy, or with
        ``copy=False`` a view of the buffer where that is contiguous (one store), to read
        only and only until the next ``uniform`` call refills it (the simulator's own
        draws, used at once: the copy was ~1 us of a one-store tick). Always C-contiguous,
        so compiled kernels see one array type whatever B is."""
        n = math.prod(shape)  # not np.prod: ~10 us a call, twice a tick
        out = self._uniform.take(n)
        if len(shape) > 1:
            out = out.reshape((self.batch_size, *shape))
        return out if not copy and out.flags.c_contiguous else out.copy()

    def reseed(self, index: int, seed: int) -> None:
        """Restart store ``index``'s streams from ``seed`` (vector-env autoreset)."""
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        gn, gu = _store_generators(seed)
        self.seeds[index] = int(seed)
        self._normal.reseed_one(index, gn)
        self._uniform.reseed_one(index, gu)
