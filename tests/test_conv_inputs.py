"""Images and kernels for the convolution lab: the PNG reader, the bundled
images, ``.npy`` files and the named kernels."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from rnntui.engine.conv import png
from rnntui.engine.conv.images import BUNDLED_IMAGES, draw, path
from rnntui.engine.conv.inputs import BASE_KERNELS, MAX_SIDE, load_image, load_kernel, named_kernel
from rnntui.engine.conv.spec import ConvError


def reference_unfilter(raw: bytes, width: int, height: int, bpp: int) -> np.ndarray:
    """The PNG specification's decoder, byte by byte (slow, obviously right)."""
    stride = width * bpp
    out = bytearray()
    prior = bytearray(stride)
    pos = 0
    for _ in range(height):
        kind = raw[pos]
        line = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prior[i]
            c = prior[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out += line
        prior = line
    return np.frombuffer(bytes(out), np.uint8).reshape(height, width, bpp)


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def make_png(ihdr: tuple, rows: bytes, extra: bytes = b"") -> bytes:
    return (png.SIGNATURE + chunk(b"IHDR", struct.pack(">IIBBBBB", *ihdr)) + extra
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.mark.parametrize("shape", [(1, 1, 3), (7, 5, 1), (16, 9, 3), (6, 11, 4), (5, 3, 2)])
def test_decoder_equals_the_reference_on_random_filtered_data(shape):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    h, w, bpp = shape
    # random filtered bytes with a random filter type per row: every predictor on every neighbour
    rows = np.concatenate([rng.integers(0, 5, (h, 1)), rng.integers(0, 256, (h, w * bpp))], axis=1).astype(np.uint8)
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[bpp]
    decoded = png.decode(make_png((w, h, 8, colour, 0, 0, 0), rows.tobytes()))
    assert np.array_equal(decoded, reference_unfilter(rows.tobytes(), w, h, bpp))


@pytest.mark.parametrize("filter_type", [0, 1, 2, 3, 4, "mixed"])
def test_encode_decode_round_trip(filter_type):
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    types = rng.integers(0, 5, 13) if filter_type == "mixed" else filter_type
    data = png.encode(image, types)
    assert np.array_equal(png.decode(data), image)
    raw = zlib.decompress(data[33 + 8:data.index(b"IEND") - 8])  # the IDAT body: our own filtering
    assert np.array_equal(reference_unfilter(raw, 17, 13, 3), image)


def test_palette_images_expand_to_rgb_or_rgba():
    plte = chunk(b"PLTE", bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]))
    rows = bytes([0, 0, 1, 2, 0, 2, 2, 1])  # 2 rows of 3 indices
    rgb = png.decode(make_png((3, 2, 8, 3, 0, 0, 0), rows, plte))
    assert rgb.shape == (2, 3, 3) and rgb[0, 0].tolist() == [255, 0, 0] and rgb[1, 2].tolist() == [0, 255, 0]
    rgba = png.decode(make_png((3, 2, 8, 3, 0, 0, 0), rows, plte + chunk(b"tRNS", bytes([0]))))
    assert rgba.shape == (2, 3, 4) and rgba[0, 0].tolist() == [255, 0, 0, 0] and rgba[0, 1, 3] == 255


@pytest.mark.parametrize("data,message", [
    (b"GIF89a....", "not a PNG"),
    (png.SIGNATURE + b"\x00\x00", "truncated"),
    (make_png((2, 2, 16, 2, 0, 0, 0), b"\x00" * 26), "16-bit RGB PNG; allowed: 8-bit"),
    (make_png((2, 2, 8, 2, 0, 0, 1), b"\x00" * 14), "interlaced"),
    (make_png((2, 2, 8, 3, 0, 0, 0), b"\x00" * 6), "palette image without a valid PLTE"),
    (make_png((2, 2, 8, 0, 0, 0, 0), b"\x05\x00\x00\x00\x00\x00"), "filter type 5"),
    (make_png((2, 2, 8, 0, 0, 0, 0), b"\x00\x00"), "image data holds 2 bytes"),
    (make_png((100_000, 100_000, 8, 0, 0, 0, 0), b""), "allowed: 1 to"),
])
def test_bad_pngs_are_refused_with_one_line(data, message):
    with pytest.raises(png.PNGError, match=message) as info:
        png.decode(data)
    assert "\n" not in str(info.value)


def test_crc_mismatch_is_refused():
    data = bytearray(png.encode(np.zeros((2, 2, 3), np.uint8)))
    data[20] ^= 0xFF  # inside IHDR
    with pytest.raises(png.PNGError, match="CRC"):
        png.decode(bytes(data))


# ------------------------------------------------------------ bundled images
@pytest.mark.parametrize("name", list(BUNDLED_IMAGES))
def test_shipped_images_are_what_the_project_draws(name):
    assert np.array_equal(png.read_png(path(name)), draw(name))


def test_bundled_images_load_in_unit_range():
    shapes = load_image("bundled:shapes").pixels
    rings = load_image("bundled:rings").pixels
    assert shapes.shape == (64, 64, 3) and rings.shape == (48, 48, 1)
    assert shapes.dtype == np.float32 and 0 <= shapes.min() and shapes.max() <= 1
    assert np.allclose(shapes * 255, draw("shapes"), atol=1e-4)


# ---------------------------------------------------------------- files
def test_png_and_npy_files(tmp_path):
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = (200, 100, 0, 255)  # opaque: kept
    rgba[0, 1] = (200, 100, 0, 0)  # transparent: white
    png.write_png(tmp_path / "a.png", rgba)
    pixels = load_image(str(tmp_path / "a.png")).pixels
    assert pixels.shape == (2, 2, 3)
    np.testing.assert_allclose(pixels[0, 0], [200 / 255, 100 / 255, 0])
    np.testing.assert_allclose(pixels[0, 1], [1, 1, 1])
    np.save(tmp_path / "img.npy", np.arange(12).reshape(3, 4))
    img = load_image(str(tmp_path / "img.npy")).pixels
    assert img.shape == (3, 4, 1) and img[2, 3, 0] == 11  # values as stored


@pytest.mark.parametrize("content,name,message", [
    (b"not an image", "x.png", "not a PNG file"),
    (b"not an array", "x.npy", "not a readable .npy"),
    (b"hello", "x.txt", "allowed: bundled:shapes"),
    (None, "missing.npy", "no file"),
    (None, "missing.png", "no file"),
])
def test_unreadable_images(tmp_path, content, name, message):
    if content is not None:
        (tmp_path / name).write_bytes(content)
    with pytest.raises(ConvError, match=message) as info:
        load_image(str(tmp_path / name))
    assert info.value.key == "image"


@pytest.mark.parametrize("array,message", [
    (np.zeros(5), "allowed: (H, W, C) or (H, W)"),
    (np.array([["a"]]), "allowed: numbers"),
    (np.array([[np.nan]]), "finite"),
    (np.zeros((0, 3, 1)), "empty"),
    (np.zeros((MAX_SIDE + 1, 2)), f"at most {MAX_SIDE}"),
])
def test_bad_npy_images(tmp_path, array, message):
    np.save(tmp_path / "a.npy", array)
    with pytest.raises(ConvError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_image(str(tmp_path / "a.npy"))


# ------------------------------------------------------------------ kernels
def test_named_kernels_average_the_channels():
    k = named_kernel("sobel-x", 3)
    assert k.shape == (3, 3, 3)
    np.testing.assert_allclose(k.sum(axis=2), BASE_KERNELS["sobel-x"], rtol=1e-6)
    assert named_kernel("random:5", 2, seed=1).shape == (5, 5, 2)
    assert np.array_equal(named_kernel("random", 3, seed=4), named_kernel("random", 3, seed=4))
    for bad in ("sobel", "random:0", "random:x", "edge:3"):
        with pytest.raises(ConvError, match="kernel"):
            named_kernel(bad, 3)


def test_kernel_files(tmp_path):
    np.save(tmp_path / "k.npy", np.ones((2, 2, 3)))
    np.save(tmp_path / "bank.npy", np.ones((4, 3, 3, 3)))
    np.save(tmp_path / "gray.npy", np.ones((3, 3)))
    assert load_kernel(str(tmp_path / "k.npy"), 3)[1].shape == (2, 2, 3)
    assert load_kernel(str(tmp_path / "bank.npy"), 3)[1].shape == (4, 3, 3, 3)
    assert load_kernel(str(tmp_path / "gray.npy"), 1)[1].shape == (3, 3, 1)
    with pytest.raises(ConvError, match="has 3 channel"):
        load_kernel(str(tmp_path / "k.npy"), 1)
    with pytest.raises(ConvError, match="no file"):
        load_kernel(str(tmp_path / "none.npy"), 3)
