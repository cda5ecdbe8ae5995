"""Recorded episodes: frames stacked over time in one compressed ``.npz`` with a JSON header.

Format (version 1): every array of :data:`FRAME_ARRAYS` stacked on a leading time axis,
``time_s`` (T,), ragged ``decisions`` (sum D, 3) with ``decision_count`` (T,),
``status__<key>`` (T,) float64 (NaN = key absent in that frame), the header arrays as
``header__<name>``, and ``header_json``: UTF-8 JSON bytes holding the format name, version,
package version, env id, seed, config and the header's names. No pickle anywhere: the
file loads with ``allow_pickle=False``. Files are written to a temporary name and renamed.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from retail_env.atomic import atomic_path
from retail_env.render.frame import DECISION_DTYPE, FRAME_ARRAYS, Frame, FrameHeader
from retail_env.render.recording_checks import (
    RecordingError,
    check_archive,
    check_frames,
    check_header,
    parse_header,
)

FORMAT = "retail-env-recording"
VERSION = 1


def _package_version() -> str:
    from retail_env import __version__

    return __version__


def _jsonable(x: Any) -> Any:
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return {f.name: _jsonable(getattr(x, f.name)) for f in dataclasses.fields(x)}
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return repr(x)


@dataclasses.dataclass(eq=False)
class Recording:
    """A loaded (or about to be saved) episode: header, stacked frame arrays and metadata."""

    header: FrameHeader
    arrays: dict[str, np.ndarray]  # FRAME_ARRAYS stacked (T, ...) + time_s
    decisions: list[np.ndarray]  # per frame (D, 3)
    status: dict[str, np.ndarray]  # key -> (T,) float64, NaN = absent
    meta: dict[str, Any]

    def __len__(self) -> int:
        return len(self.arrays["time_s"])

    @property
    def times(self) -> np.ndarray:
        return self.arrays["time_s"]

    def frame(self, i: int) -> Frame:
        a = self.arrays
        status = {k: float(v[i]) for k, v in self.status.items() if not np.isnan(v[i])}
        return Frame(
            time_s=float(a["time_s"][i]),
            decisions=self.decisions[i],
            status=status,
            **{k: a[k][i] for k in FRAME_ARRAYS},
        )

    def __iter__(self):
        return (self.frame(i) for i in range(len(self)))

    @classmethod
    def from_frames(
        cls, header: FrameHeader, frames: Sequence[Frame], meta: dict | None = None
    ) -> Recording:
        if not frames:
            raise ValueError("a recording needs at least one frame")
        arrays: dict[str, np.ndarray] = {"time_s": np.array([f.time_s for f in frames])}
        for name, dtype in FRAME_ARRAYS.items():
            shapes = {getattr(f, name).shape for f in frames}
            if len(shapes) != 1:
                raise ValueError(f"frames disagree on the shape of {name}: {sorted(shapes)}")
            arrays[name] = np.stack([getattr(f, name) for f in frames]).astype(dtype, copy=False)
        keys = list(dict.fromkeys(k for f in frames for k in f.status))  # status-bar order
        status = {k: np.array([f.status.get(k, np.nan) for f in frames], np.float64) for k in keys}
        return cls(header, arrays, [f.decisions for f in frames], status, dict(meta or {}))

    # --- file I/O ------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write atomically (temporary name, then rename); returns the path."""
        meta = {
            **_jsonable(self.meta),
            "format": FORMAT,
            "version": VERSION,
            "retail_env_version": _package_version(),
            "n_frames": len(self),
            "header": self.header.to_json(),
        }
        counts = np.array([len(d) for d in self.decisions], np.int32)
        dec = np.concatenate([*self.decisions, np.zeros((0, 3), DECISION_DTYPE)])
        out = {
            "header_json": np.frombuffer(json.dumps(meta).encode(), np.uint8),
            **{f"header__{k}": getattr(self.header, k) for k in FrameHeader.ARRAYS},
            **self.arrays,
            "decisions": dec.astype(DECISION_DTYPE),
            "decision_count": counts,
            **{f"status__{k}": v for k, v in self.status.items()},
        }
        path = Path(path)
        with atomic_path(path, suffix=".npz") as tmp, open(tmp, "wb") as fh:
            np.savez_compressed(fh, **out)
        return path


def save_recording(
    path: str | os.PathLike, header: FrameHeader, frames: Sequence[Frame], meta: dict | None = None
) -> Path:
    return Recording.from_frames(header, frames, meta).save(path)


def load_recording(path: str | os.PathLike) -> Recording:
    """Load and check a recording; any problem raises :class:`RecordingError` saying what."""
    path = Path(path)
    if not path.is_file():
        raise RecordingError(f"{path}: no such recording file")
    if not zipfile.is_zipfile(path):
        raise RecordingError(
            f"{path} is not a retail-env recording (not a NumPy .npz archive; it may be truncated)"
        )
    try:
        check_archive(path)  # sizes, before any decompression
        with np.load(path, allow_pickle=False) as npz:
            if "header_json" not in npz.files:
                raise RecordingError(
                    f"{path} is not a retail-env recording (an .npz without a "
                    f"header_json member; it holds {sorted(npz.files)[:6]})"
                )
            meta = parse_header(path, npz["header_json"].tobytes())
            _check_meta(path, meta)
            data = {k: npz[k] for k in npz.files}  # reading every member checks its CRC
    except RecordingError:
        raise
    except (
        zipfile.BadZipFile,
        zlib.error,
        EOFError,
        OSError,
        ValueError,
        KeyError,
        UnicodeDecodeError,
        NotImplementedError,
    ) as err:
        raise RecordingError(
            f"{path} is truncated or corrupted ({type(err).__name__}: {err})"
        ) from err
    return _assemble(path, meta, data)


def _check_meta(path: Path, meta: Any) -> None:
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        fmt = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise RecordingError(
            f"{path} is not a retail-env recording (format {fmt!r}, expected {FORMAT!r})"
        )
    if meta.get("version") != VERSION:
        raise RecordingError(
            f"{path} is a version {meta.get('version')} recording (written by retail-env "
            f"{meta.get('retail_env_version', '?')}); this retail-env {_package_version()} reads "
            f"version {VERSION} only. Re-record the episode, or play it with the version that "
            "wrote it."
        )


def _assemble(path: Path, meta: dict, data: dict[str, np.ndarray]) -> Recording:
    n = meta.get("n_frames")
    try:
        header = check_header(path, meta, {k: data[f"header__{k}"] for k in FrameHeader.ARRAYS})
        arrays = {k: data[k] for k in ("time_s", *FRAME_ARRAYS)}
        counts, dec = data["decision_count"], data["decisions"]
    except KeyError as err:
        raise RecordingError(f"{path} is damaged: missing member {err}") from err
    status = {k[len("status__") :]: v for k, v in data.items() if k.startswith("status__")}
    check_frames(path, header, n, arrays, counts, dec, status)
    splits = np.split(dec, np.cumsum(counts.astype(np.int64))[:-1])
    meta = {k: v for k, v in meta.items() if k != "header"}
    return Recording(header, arrays, list(splits), status, meta)


class RecordEpisode(gym.Wrapper):
    """Save every episode's frames to ``folder/<prefix>-<episode>.npz``.

    The wrapped env must provide ``frame_header()`` and ``current_frame()`` on its
    unwrapped env. If it also has a ``frame_sink`` attribute, the wrapper sets it to a
    callback and the env hands over one frame per simulated tick (so an attribution step,
    which spans many ticks, records all of them); otherwise one frame per step is kept.
    ``every`` keeps one frame in ``every`` (the last frame of an episode is always kept).
    An existing ``<prefix>-<episode>.npz`` (e.g. another wrapper's, in a shared folder) is
    never replaced unless ``overwrite=True``: saving it raises FileExistsError instead.
    """

    def __init__(
        self,
        env: gym.Env,
        folder: str | os.PathLike,
        every: int = 1,
        prefix: str = "episode",
        overwrite: bool = False,
    ):
        super().__init__(env)
        base = env.unwrapped
        if not (hasattr(base, "frame_header") and hasattr(base, "current_frame")):
            raise TypeError(
                f"{type(base).__name__} cannot be recorded: it needs frame_header() "
                "and current_frame()"
            )
        if int(every) < 1:
            raise ValueError(f"every={every!r} must be >= 1")
        self.folder = Path(folder)
        self.every = int(every)
        self.prefix = prefix
        self.overwrite = bool(overwrite)
        self.episode = 0
        self.saved: list[Path] = []
        self._frames: list[Frame] = []
        self._seen = 0
        self._last: Frame | None = None
        self._seed: int | None = None
        self._uses_sink = hasattr(base, "frame_sink")

    def _on_frame(self, frame: Frame) -> None:
        if self._seen % self.every == 0:
            self._frames.append(frame)
        self._seen += 1
        self._last = frame

    def reset(self, *, seed=None, options=None):
        self._flush()
        if self._uses_sink:  # the ticks up to the first decision are drawn too
            self.env.unwrapped.frame_sink = self._on_frame  # pyright: ignore[reportAttributeAccessIssue]  (the task env's frame hooks)
        obs, info = self.env.reset(seed=seed, options=options)
        self._seed = seed
        self._header = self.env.unwrapped.frame_header()  # pyright: ignore[reportAttributeAccessIssue]  (the task env's frame hooks)
        if not self._frames:
            self._on_frame(self.env.unwrapped.current_frame())  # pyright: ignore[reportAttributeAccessIssue]  (the task env's frame hooks)
        return obs, info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if not self._uses_sink:
            self._on_frame(self.env.unwrapped.current_frame())  # pyright: ignore[reportAttributeAccessIssue]  (the task env's frame hooks)
        if terminated or truncated:
            self._flush()
        return obs, reward, terminated, truncated, info

    def _flush(self) -> None:
        if not self._frames:
            return
        if self._last is not None and self._frames[-1] is not self._last:
            self._frames.append(self._last)
        base = self.env.unwrapped
        spec = getattr(base, "spec", None)
        meta = {
            "env_id": spec.id if spec else None,
            "seed": self._seed,
            "episode": self.episode,
            "frame_every": self.every,
            "config": _jsonable(getattr(base, "config", None)),
        }
        path = self.folder / f"{self.prefix}-{self.episode:04d}.npz"
        if path.exists() and not self.overwrite:
            self._frames, self._seen, self._last = [], 0, None
            raise FileExistsError(
                f"{path} exists (another recording?): RecordEpisode does not "
                "replace it; use another folder or prefix, or overwrite=True"
            )
        self.saved.append(save_recording(path, self._header, self._frames, meta))
        self.episode += 1
        self._frames, self._seen, self._last = [], 0, None

    def close(self):
        self._flush()
        if self._uses_sink:
            self.env.unwrapped.frame_sink = None  # pyright: ignore[reportAttributeAccessIssue]  (the task env's frame hooks)
        super().close()
