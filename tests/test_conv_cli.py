"""``rnntui conv``: what it prints, its JSON, and one-line exit-2 errors."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rnntui.cli.conv import ACTIVATIONS as CLI_ACTIVATIONS
from rnntui.cli.main import main
from rnntui.engine.conv import png
from rnntui.engine.conv.inputs import load_image, named_kernel
from rnntui.engine.conv.spec import ACTIVATIONS


def run_json(capsys, *argv: str) -> dict:
    assert main(["conv", "--json", *argv]) == 0
    return json.loads(capsys.readouterr().out)


def torch_map(pixels: np.ndarray, kernel: np.ndarray, stride: int = 1, padding: int = 0) -> torch.Tensor:
    x = torch.from_numpy(pixels).permute(2, 0, 1)[None]
    k = torch.from_numpy(kernel).permute(2, 0, 1)[None]
    return F.relu(F.conv2d(x, k, stride=stride, padding=padding))[0, 0]


def test_activation_names_agree():
    assert CLI_ACTIVATIONS == ACTIVATIONS


def test_text_output_shows_input_kernel_formula_and_map(capsys):
    assert main(["conv", "--width", "90", "--pool", "max:2"]) == 0
    out = capsys.readouterr().out
    assert "input bundled:shapes  (64, 64, 3)" in out
    assert "kernel sobel-x  (3, 3, 3)" in out and "-0.333      0  0.333" in out
    assert "H′ = ⌊(64 − 3 + 2·0)/1⌋ + 1 = 62" in out
    assert "output: relu(conv(input, sobel-x)), stride 1, padding 0  (62, 62)" in out
    assert "pooled sobel-x: max pool 2×2, stride 2  (31, 31)" in out
    assert max(len(line) for line in out.splitlines()) <= 90
    assert "▀" not in out  # not a terminal: character shades, no colour codes
    assert "\x1b[" not in out


def test_colour_output_uses_half_blocks(capsys):
    assert main(["conv", "--color", "always", "--width", "80", "--image", "bundled:rings"]) == 0
    out = capsys.readouterr().out
    assert "▀" in out and "\x1b[38;2;" in out


def test_json_output_equals_torch(capsys):
    data = run_json(capsys, "--stride", "2", "--padding", "1", "--pool", "max:2")
    pixels = load_image("bundled:shapes").pixels
    assert data["input_shape"] == [64, 64, 3] and data["kernels"] == [{"name": "sobel-x", "shape": [3, 3, 3]}]
    assert data["output_shape"] == [32, 32]  # ⌊(64 − 3 + 2)/2⌋ + 1
    ref = torch_map(pixels, named_kernel("sobel-x", 3), stride=2, padding=1)
    # float32 map vs torch's float32 conv: torch's default float32 tolerances (27-term sums)
    torch.testing.assert_close(torch.tensor(data["output"], dtype=torch.float32), ref)
    assert data["pooled_shape"] == [16, 16]
    torch.testing.assert_close(torch.tensor(data["pooled"], dtype=torch.float32), F.max_pool2d(ref[None], 2)[0])


def test_json_several_kernels_and_global_pooling(capsys):
    data = run_json(capsys, "--kernel", "edge", "--kernel", "blur", "--pool", "global", "--activation", "tanh")
    assert data["output_shape"] == [62, 62, 2] and data["pooled_shape"] == [2]
    maps = np.array(data["output"])
    np.testing.assert_allclose(data["pooled"], maps.mean(axis=(0, 1)), rtol=1e-5)
    assert np.abs(maps).max() < 1  # tanh


def test_npy_image_and_kernel(tmp_path, capsys):
    image = np.arange(5 * 6 * 2, dtype=np.float32).reshape(5, 6, 2) / 60
    kernel = np.ones((2, 2, 2), np.float32)
    np.save(tmp_path / "img.npy", image)
    np.save(tmp_path / "k.npy", kernel)
    data = run_json(capsys, "--image", str(tmp_path / "img.npy"), "--kernel", str(tmp_path / "k.npy"))
    assert data["output_shape"] == [4, 5]
    torch.testing.assert_close(torch.tensor(data["output"], dtype=torch.float32), torch_map(image, kernel))


def test_cnn_json_and_text(capsys):
    data = run_json(capsys, "--cnn")
    assert [(layer["name"], layer["shape"]) for layer in data["layers"]] == [
        ("image", [64, 64, 3]), ("conv1", [62, 62, 16]), ("pool1", [31, 31, 16]), ("conv2", [29, 29, 32]),
        ("pool2", [14, 14, 32]), ("gap", [32]), ("hidden", [20]), ("logits", [1000])]
    assert len(data["softmax"]) == 1000 and abs(sum(data["softmax"]) - 1) < 1e-5
    probs = torch.softmax(torch.tensor(data["logits"]), dim=0)
    torch.testing.assert_close(torch.tensor(data["softmax"]), probs)
    assert main(["conv", "--cnn", "--width", "100", "--max-lines", "12"]) == 0
    out = capsys.readouterr().out
    assert "conv1   (62, 62, 16)" in out and "output with softmax  (1000,)" in out
    assert "output without softmax  (1000,)" in out and "largest outputs: #" in out


@pytest.mark.parametrize("argv,message", [
    (["--stride", "0"], "stride: got 0; allowed: an integer >= 1"),
    (["--stride", "two"], "stride: got 'two'"),
    (["--padding", "-1"], "padding: got -1; allowed: an integer >= 0"),
    (["--kernel", "sobel"], "kernel: got 'sobel'; allowed: edge, sobel-x"),
    (["--kernel", "@CHAN2"], "has 2 channel(s), the image 3; allowed: 3"),
    (["--image", "@TINY"], "kernel: a 3×3 window does not fit in the 2×2 map"),
    (["--image", "@TINY", "--pool", "max:2", "--padding", "1", "--stride", "2"], "pool: a 2×2 window does not fit"),
    (["--image", "@TEXT.png"], "not a PNG file"),
    (["--image", "@TEXT.npy"], "not a readable .npy array"),
    (["--image", "@MISSING.png"], "no file"),
    (["--image", "@DIR"], "allowed: bundled:shapes"),
    (["--image", "bundled:cat"], "no bundled image 'cat'"),
    (["--image", "@16BIT"], "16-bit grayscale PNG; allowed: 8-bit"),
    (["--pool", "max"], "pool: got 'max'"),
    (["--activation", "softplus"], "invalid choice: 'softplus'"),
    (["--cnn", "--kernel", "edge"], "kernel: does not apply with --cnn"),
    (["--cnn", "--image", "@TINY"], "is too small for this CNN"),
    (["--width", "5"], "width: got 5; allowed: an integer >= 20"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, message):
    np.save(tmp_path / "chan2.npy", np.ones((3, 3, 2)))
    np.save(tmp_path / "tiny.npy", np.ones((2, 2, 3)))
    (tmp_path / "text.png").write_text("hello")
    (tmp_path / "text.npy").write_text("hello")
    header = struct.pack(">IIBBBBB", 2, 2, 16, 0, 0, 0, 0)  # a valid 16-bit grayscale PNG
    (tmp_path / "16bit.png").write_bytes(png.SIGNATURE + png._chunk(b"IHDR", header)
                                         + png._chunk(b"IDAT", zlib.compress(bytes(10))) + png._chunk(b"IEND", b""))
    names = {"@CHAN2": "chan2.npy", "@TINY": "tiny.npy", "@TEXT.png": "text.png", "@TEXT.npy": "text.npy",
             "@MISSING.png": "missing.png", "@DIR": "", "@16BIT": "16bit.png"}
    argv = [str(tmp_path / names[a]) if a in names else a for a in argv]
    assert main(["conv", *argv]) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("rnntui conv: error: "), captured.err
    assert message in lines[0] and "Traceback" not in captured.err
    assert captured.out == ""


def test_entry_point_bad_stride_is_one_line_and_fast():
    """Through ``python -m rnntui``: flags are checked before torch is imported."""
    result = subprocess.run([sys.executable, "-m", "rnntui", "conv", "--stride", "0"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "rnntui conv: error: stride: got 0; allowed: an integer >= 1"
