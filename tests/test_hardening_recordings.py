"""Issue 21: a crafted recording is refused at load with a RecordingError naming the problem
(so anything that loads also plays, exports and heatmaps), in bounded memory; the CLI
turns every project error into one line and exit code 2."""

from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np
import pytest

from retail_env import cli
from retail_env.errors import RetailEnvError
from retail_env.render.export import export_gif, export_heatmap
from retail_env.render.recording import RecordingError, load_recording, save_recording
from retail_env.render.synthetic import demo_frames, demo_header

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    header = demo_header()
    path = tmp_path_factory.mktemp("rec") / "good.npz"
    save_recording(path, header, demo_frames(header, 6), {"env_id": "demo"})
    return path


def members(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def write(path, data: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as fh:
        np.savez_compressed(fh, **data)


def meta_of(data):
    return json.loads(data["header_json"].tobytes())


def with_meta(data, meta):
    return {**data, "header_json": np.frombuffer(json.dumps(meta).encode(), np.uint8)}


def _set(name, fn):
    def edit(d):
        d[name] = fn(d[name].copy())
        return d

    return edit


def _at(a, idx, v):
    a[idx] = v
    return a


CRAFTED = [
    (
        "position inf",
        _set("shopper_pos", lambda a: _at(a, (0, 0, 0), np.inf)),
        "shopper_pos holds inf: positions must be NaN or within 10 m of the store",
    ),
    (
        "position far",
        _set("track_pos", lambda a: _at(a, (0, 0, 1), 60000.0)),
        "track_pos holds 60000.0",
    ),
    ("negative trail", _set("track_trail", lambda a: _at(a, (0, 0, 0, 0), -10.5)), "track_trail"),
    (
        "plate out of range",
        _set("decisions", lambda a: _at(a, (0, 0), 10_000)),
        "decisions hold a plate outside",
    ),
    ("bad outcome", _set("decisions", lambda a: _at(a, (0, 1), 9)), "an outcome outside 0..3"),
    ("negative count", _set("decision_count", lambda a: _at(a, 0, -1)), "decision_count"),
    ("kind 7", _set("shopper_kind", lambda a: _at(a, (0, 0), 7)), "shopper_kind holds values"),
    ("promo 9", _set("promo", lambda a: _at(a, (0, 0), 9)), "promo holds values outside 0..2"),
    (
        "price nan",
        _set("price_mult", lambda a: _at(a, (0, 0), np.nan)),
        "price_mult must be finite",
    ),
    ("time nan", _set("time_s", lambda a: _at(a, 2, np.nan)), "time_s must be finite"),
    ("time backwards", _set("time_s", lambda a: a[::-1].copy()), "non-decreasing"),
    ("time gap 1e-9", _set("time_s", lambda a: _at(a, 1, a[0] + 1e-9)), "at least 0.001 s"),
    (
        "dtype",
        _set("shopper_pos", lambda a: a.astype(np.float64)),
        "member 'shopper_pos' has dtype float64, expected float16",
    ),
    ("shape", _set("plate_stock", lambda a: a[:, :3].copy()), "member 'plate_stock' has shape"),
    ("2-D kinds", _set("shopper_kind", lambda a: a[:, :, None].copy()), "member 'shopper_kind'"),
    ("grid 3-D", _set("header__grid", lambda a: a[None]), "grid of shape (1,"),
    (
        "grid huge",
        _set("header__grid", lambda a: np.zeros((8000, 8000), np.uint8)),
        "grid of shape (8000, 8000) (uint8) is not allowed",
    ),
    ("grid code", _set("header__grid", lambda a: _at(a, (0, 0), 200)), "grid holds cell code 200"),
    (
        "plate cell",
        _set("header__plate_cell", lambda a: _at(a, (0, 0), 30000)),
        "damaged: bad header",
    ),
    (
        "product index",
        _set("header__plate_product", lambda a: _at(a, 0, 999)),
        "plate_product indexes outside",
    ),
    ("status inf", lambda d: {**d, "status__x": np.full(6, np.inf)}, "status__x must be"),
    ("status shape", lambda d: {**d, "status__x": np.zeros(2)}, "status__x must be (6,)"),
    (
        "no decisions",
        lambda d: {k: v for k, v in d.items() if k != "decisions"},
        "missing member 'decisions'",
    ),
    ("n_frames str", lambda d: with_meta(d, {**meta_of(d), "n_frames": "6"}), "n_frames='6'"),
    ("n_frames 0", lambda d: with_meta(d, {**meta_of(d), "n_frames": 0}), "n_frames=0"),
    (
        "cell_m 0",
        lambda d: with_meta(d, {**meta_of(d), "header": {**meta_of(d)["header"], "cell_m": 0}}),
        "cell_m=0",
    ),
    (
        "names",
        lambda d: with_meta(
            d, {**meta_of(d), "header": {**meta_of(d)["header"], "product_names": 3}}
        ),
        "product_names must be a list of strings",
    ),
    ("header list", lambda d: with_meta(d, {**meta_of(d), "header": []}), "the header is list"),
    (
        "deep header",
        lambda d: {
            **d,
            "header_json": np.frombuffer(("[" * 100_000 + "]" * 100_000).encode(), np.uint8),
        },
        "nested 100000 deep: at most 32",
    ),
    ("object member", lambda d: {**d, "x": np.array([1, None], object)}, "holds Python objects"),
]


@pytest.mark.parametrize("name, edit, problem", CRAFTED, ids=[c[0] for c in CRAFTED])
def test_crafted_recordings_are_refused_naming_the_problem(good, tmp_path, name, edit, problem):
    bad = tmp_path / "bad.npz"
    write(bad, edit(members(good)))
    with pytest.raises(RecordingError) as info:
        load_recording(bad)
    assert problem in str(info.value) and str(bad) in str(info.value)


def test_whatever_loads_also_exports_and_heatmaps(good, tmp_path):
    """Including noisy tracks a little outside the store and frames sharing a time."""
    pytest.importorskip("imageio")  # the video extra
    data = members(good)
    data["track_pos"][0, 0] = (-9.0, 14.0)
    data["time_s"][1] = data["time_s"][0]
    edge = tmp_path / "edge.npz"
    write(edge, data)
    rec = load_recording(edge)
    export_gif(rec, tmp_path / "a.gif", every=2)
    export_heatmap(rec, tmp_path / "a.png")


def _member_declaring(path, name: str, shape: tuple, body: bytes = b"") -> None:
    """An .npz whose member ``name`` has a .npy header declaring ``shape`` (float64)."""
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name + ".npy", buf.getvalue() + body)


def test_a_member_declaring_a_terabyte_is_refused_before_allocating(good, tmp_path):
    bad = tmp_path / "tb.npz"
    bad.write_bytes(good.read_bytes())
    _member_declaring(bad, "status__big", (1 << 37,))
    with pytest.raises(
        RecordingError,
        match=r"member 'status__big.npy' declares shape "
        r"\(137438953472,\) of float64 \(1,099,511,627,776",
    ):
        load_recording(bad)


def test_a_huge_zero_member_is_refused_from_the_zip_header(good, tmp_path):
    """300 MB of zeros compress to ~300 KB; the declared size is refused unread."""
    bad = tmp_path / "zeros.npz"
    bad.write_bytes(good.read_bytes())
    _member_declaring(bad, "status__zeros", (300 << 17,), bytes(300 << 20))
    assert bad.stat().st_size < 2 << 20
    with pytest.raises(
        RecordingError,
        match=r"declares [\d,]+ bytes uncompressed \(largest "
        r"member 'status__zeros.npy'",
    ):
        load_recording(bad)


def test_cli_turns_project_errors_into_one_line_and_exit_2(good, tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    write(bad, CRAFTED[0][1](members(good)))
    assert cli.main(["info", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("retail-env: ") and "shopper_pos" in err
    assert "Traceback" not in err
    assert issubclass(RecordingError, RetailEnvError)


def test_cli_refuses_to_overwrite_its_input(good, tmp_path, capsys):
    copy = tmp_path / "rec.npz"
    copy.write_bytes(good.read_bytes())
    assert cli.main(["heatmap", str(copy), str(copy)]) == 2
    assert "is the input recording: refusing to overwrite it" in capsys.readouterr().err
    assert cli.main(["export", str(copy), "--gif", str(tmp_path / "." / "rec.npz")]) == 2
    load_recording(copy)  # untouched


def test_cli_does_not_create_missing_folders(good, tmp_path, capsys):
    out = tmp_path / "no" / "such" / "heat.png"
    assert cli.main(["heatmap", str(good), str(out)]) == 2
    assert "does not exist (create it first)" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    "args",
    [["--every", "0"], ["--gif-scale", "0"], ["--fps", "inf"], ["--start", "-1"], ["--every", "x"]],
)
def test_cli_refuses_bad_numbers(good, tmp_path, args):
    with pytest.raises(SystemExit) as info:
        cli.main(["export", str(good), "--gif", str(tmp_path / "x.gif"), *args])
    assert info.value.code == 2
