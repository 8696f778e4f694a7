"""A small PNG reader and writer (stdlib zlib + numpy; no imaging library).

Reads what images for this lab are: 8-bit grayscale (colour type 0),
grayscale + alpha (4), RGB (2), RGBA (6) and palette (3; RGB, or RGBA when a
tRNS chunk gives the entries an alpha), not interlaced.  Anything else
(palette, 1/2/4/16-bit, Adam7 interlacing, a damaged file) raises
:class:`PNGError` with one line saying what was found and what is allowed.

A PNG (ISO/IEC 15948) is a signature then chunks ``length | type | data | CRC-32``;
IHDR gives width, height, bit depth, colour type and interlace; the IDAT data,
concatenated, is one zlib stream of H scanlines, each one filter-type byte
followed by W·bpp bytes (bpp = bytes per pixel = channels at 8 bits).
Decoding filter t of byte x from a = the byte bpp to the left (reconstructed),
b = the byte above, c = the byte above-left (0 outside the image):

    0 None     Recon(x) = Filt(x)
    1 Sub      Recon(x) = Filt(x) + a
    2 Up       Recon(x) = Filt(x) + b
    3 Average  Recon(x) = Filt(x) + ⌊(a + b) / 2⌋
    4 Paeth    Recon(x) = Filt(x) + PaethPredictor(a, b, c)      (all mod 256)

Each pixel needs its left, upper and upper-left neighbours first, so the
pixels of one anti-diagonal (row + column = d) are independent of each other:
:func:`unfilter` reconstructs a whole anti-diagonal (every row's filter type at
once, all channels) per numpy step — H + W − 1 steps, no loop over pixels.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type → samples per pixel (8-bit samples)
COLOUR_NAMES = {0: "grayscale", 2: "RGB", 3: "palette", 4: "grayscale+alpha", 6: "RGBA"}
MAX_PIXELS = 64 * 1024 * 1024
"""Refuse larger images before inflating anything (a PNG can claim any size)."""
ALLOWED = "8-bit grayscale, grayscale+alpha, RGB, RGBA or palette, not interlaced"


class PNGError(ValueError):
    """The file is not a PNG this reader handles (one line, says what is allowed)."""


def _chunks(data: bytes):
    pos = len(SIGNATURE)
    while pos < len(data):
        if pos + 8 > len(data):
            raise PNGError("truncated PNG (a chunk header is cut off)")
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc = data[pos + 8 + length:pos + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise PNGError(f"truncated PNG (chunk {kind.decode('latin-1')!r} is cut off)")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise PNGError(f"damaged PNG (CRC mismatch in chunk {kind.decode('latin-1')!r})")
        yield kind, body
        if kind == b"IEND":
            return
        pos += 12 + length
    raise PNGError("truncated PNG (no IEND chunk)")


def paeth(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """PaethPredictor: of a, b, c the one nearest p = a + b − c (ties: a, then b)."""
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def unfilter(filtered: np.ndarray, types: np.ndarray) -> np.ndarray:
    """Undo the scanline filters: ``filtered`` ``(H, W, bpp)`` bytes, ``types`` ``(H,)``
    → the image bytes ``(H, W, bpp)`` uint8 (module docstring: one anti-diagonal a step)."""
    h, w, bpp = filtered.shape
    f = filtered.astype(np.int32)
    # a zero row above and a zero column on the left stand for "outside the image"
    recon = np.zeros((h + 1, w + 1, bpp), np.int32)
    for d in range(h + w - 1):
        ys = np.arange(max(0, d - w + 1), min(h, d + 1))
        xs = d - ys
        a, b, c = recon[ys + 1, xs], recon[ys, xs + 1], recon[ys, xs]
        t = types[ys][:, None]
        pred = np.where(t == 1, a, np.where(t == 2, b, np.where(t == 3, (a + b) >> 1,
                        np.where(t == 4, paeth(a, b, c), 0))))
        recon[ys + 1, xs + 1] = (f[ys, xs] + pred) & 0xFF
    return recon[1:, 1:].astype(np.uint8)


def decode(data: bytes) -> np.ndarray:
    """PNG bytes → ``(H, W, channels)`` uint8 (channels 1, 2, 3 or 4: as stored;
    palette images as RGB or RGBA)."""
    if not data.startswith(SIGNATURE):
        raise PNGError("not a PNG file (no PNG signature)")
    header = None
    idat = []
    palette, alpha = b"", b""
    for kind, body in _chunks(data):
        if kind == b"IHDR":
            if len(body) != 13:
                raise PNGError("damaged PNG (IHDR is not 13 bytes)")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"tRNS":
            alpha = body
    if header is None or not idat:
        raise PNGError("damaged PNG (no IHDR or no IDAT chunk)")
    width, height, depth, colour, _compression, _filter, interlace = header
    if colour not in CHANNELS or depth != 8 or interlace != 0:
        found = f"{depth}-bit {COLOUR_NAMES.get(colour, f'colour type {colour}')}"
        found += ", interlaced" if interlace else ""
        raise PNGError(f"a {found} PNG; allowed: {ALLOWED}")
    if width == 0 or height == 0 or width * height > MAX_PIXELS:
        raise PNGError(f"a {width}×{height} PNG; allowed: 1 to {MAX_PIXELS} pixels")
    bpp = CHANNELS[colour]
    expected = height * (1 + width * bpp)
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(b"".join(idat), expected + 1)
    except zlib.error as exc:
        raise PNGError(f"damaged PNG (image data: {exc})") from None
    if len(raw) != expected:
        raise PNGError(f"damaged PNG (image data holds {len(raw)} bytes, {width}×{height} needs {expected})")
    rows = np.frombuffer(raw, np.uint8).reshape(height, 1 + width * bpp)
    types = rows[:, 0]
    if types.max() > 4:
        raise PNGError(f"damaged PNG (scanline filter type {int(types.max())}; allowed: 0 to 4)")
    image = unfilter(rows[:, 1:].reshape(height, width, bpp), types)
    return _expand_palette(image[:, :, 0], palette, alpha) if colour == 3 else image


def _expand_palette(index: np.ndarray, palette: bytes, alpha: bytes) -> np.ndarray:
    """Palette indices ``(H, W)`` → RGB ``(H, W, 3)``, or RGBA when tRNS gives alphas
    (entries beyond the tRNS list are opaque)."""
    if not palette or len(palette) % 3:
        raise PNGError("damaged PNG (a palette image without a valid PLTE chunk)")
    table = np.frombuffer(palette, np.uint8).reshape(-1, 3)
    if alpha:
        opaque = np.full(len(table), 255, np.uint8)
        opaque[:min(len(alpha), len(table))] = np.frombuffer(alpha, np.uint8)[:len(table)]
        table = np.concatenate([table, opaque[:, None]], axis=1)
    if int(index.max()) >= len(table):
        raise PNGError(f"damaged PNG (palette index {int(index.max())}, the palette has {len(table)} entries)")
    return table[index]


def read_png(path: str | Path) -> np.ndarray:
    """The image in ``path`` as ``(H, W, channels)`` uint8 (see :func:`decode`)."""
    return decode(Path(path).read_bytes())


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def filter_rows(image: np.ndarray, types: np.ndarray) -> np.ndarray:
    """Encode: the scanlines of ``image`` ``(H, W, bpp)`` uint8 filtered with ``types``
    ``(H,)`` (the inverse of :func:`unfilter`; every neighbour is known, so all at once)."""
    x = image.astype(np.int32)
    a = np.zeros_like(x)
    a[:, 1:] = x[:, :-1]
    b = np.zeros_like(x)
    b[1:] = x[:-1]
    c = np.zeros_like(x)
    c[1:, 1:] = x[:-1, :-1]
    t = types[:, None, None]
    pred = np.where(t == 1, a, np.where(t == 2, b, np.where(t == 3, (a + b) >> 1,
                    np.where(t == 4, paeth(a, b, c), 0))))
    return ((x - pred) & 0xFF).astype(np.uint8)


def encode(image: np.ndarray, filter_type: int | np.ndarray = 4) -> bytes:
    """``(H, W)`` or ``(H, W, 1|2|3|4)`` uint8 → PNG bytes, each row filtered with
    ``filter_type`` (one for all rows, or one per row)."""
    img = np.asarray(image)
    if img.ndim == 2:
        img = img[:, :, None]
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] not in (1, 2, 3, 4):
        raise PNGError(f"cannot write a {img.dtype} array of shape {img.shape}; allowed: uint8 (H, W[, 1-4])")
    h, w, bpp = img.shape
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[bpp]
    types = np.broadcast_to(np.asarray(filter_type, np.uint8), (h,))
    rows = np.concatenate([types[:, None], filter_rows(img, types).reshape(h, w * bpp)], axis=1)
    header = struct.pack(">IIBBBBB", w, h, 8, colour, 0, 0, 0)
    return (SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
            + _chunk(b"IEND", b""))


def write_png(path: str | Path, image: np.ndarray, filter_type: int | np.ndarray = 4) -> None:
    Path(path).write_bytes(encode(image, filter_type))
