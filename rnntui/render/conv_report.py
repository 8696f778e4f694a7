"""The blocks ``rnntui conv`` prints and the Conv screen shows, from the results
of ``rnntui.engine.conv`` (a ``ConvRun`` or a ``CNNOutput``): titles with
shapes, the size formula with numbers, pictures of the image, kernels, maps,
pooled maps and vectors (drawn by :class:`~rnntui.render.maps.MapView`).

No torch import: tensors in a ``CNNOutput`` are read with ``.numpy()``.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from rnntui.engine.conv.spec import size_formula
from rnntui.render.maps import MapView, top_k


def conv_header(run: Any, view: MapView) -> Text:
    """The settings, the shapes and H′, W′ from the formula."""
    h, w, c = run.image.pixels.shape
    kh, kw = run.kernels[0][1].shape[:2]
    names = ", ".join(label for label, _ in run.kernels)
    text = Text(no_wrap=False)
    text.append(f"{run.image.label} {view.shape((h, w, c))}  *  {names} {view.shape((kh, kw, c))}  ·  "
                f"stride {run.stride}  ·  padding {run.padding}  ·  {run.activation}\n", style="bold" if view.colour else "")
    text.append(f"H′ = {size_formula(h, kh, run.stride, run.padding)},  W′ = {size_formula(w, kw, run.stride, run.padding)}"
                f"  →  output {view.shape(run.maps.shape[:2] if run.maps.shape[2] == 1 else run.maps.shape)}")
    if run.pool is not None and run.pooled is not None:
        if run.pooled.ndim == 1:
            text.append(f"\n{run.pool.describe()}  →  {view.shape(run.pooled.shape)}")
        else:
            hm, wm = run.maps.shape[:2]
            text.append(f"\npooled H″ = {size_formula(hm, run.pool.size, run.pool.stride)},  "
                        f"W″ = {size_formula(wm, run.pool.size, run.pool.stride)}")
    return text


def conv_blocks(run: Any, view: MapView, header: bool = True) -> list[Text]:
    """The input picture, then each kernel with its map, then the pooled maps."""
    pixels = run.image.pixels
    lo, hi = float(pixels.min()), float(pixels.max())
    blocks = [conv_header(run, view)] if header else []
    blocks.append(view.image(pixels, f"input {run.image.label}  {view.shape(pixels.shape)}  values {lo:.3g} … {hi:.3g}"))
    for k, (label, kernel) in enumerate(run.kernels):
        blocks.append(view.kernel(kernel, f"kernel {label}  {view.shape(kernel.shape)}"))
        blocks.append(view.map(run.maps[:, :, k], f"output: {run.activation}(conv(input, {label})), stride {run.stride}, "
                               f"padding {run.padding}  {view.shape(run.maps.shape[:2])}"))
    if run.pool is not None and run.pooled is not None:
        if run.pooled.ndim == 1:
            blocks.append(view.vector(run.pooled, f"pooled: {run.pool.describe()}  {view.shape(run.pooled.shape)}  "
                                      "(one value per map)"))
        else:
            for k, (label, _) in enumerate(run.kernels):
                blocks.append(view.map(run.pooled[:, :, k], f"pooled {label}: {run.pool.describe()}  "
                                       f"{view.shape(run.pooled.shape[:2])}"))
    return blocks


def cnn_table(out: Any, label: str, seed: int, view: MapView) -> Text:
    """Each stage's name, shape and description."""
    wn = max(len(s.name) for s in out.stages)
    table = Text(f"seed 004's CNN on {label}, weights seeded with {seed} (untrained)\n")
    for s in out.stages:
        table.append(f"  {s.name:<{wn}}  {view.shape(tuple(s.value.shape)):<14}  {s.description}\n")
    return table


def cnn_blocks(out: Any, label: str, seed: int, view: MapView) -> list[Text]:
    """The layer table, the image, every stage's maps or vector, and the output
    with and without softmax."""
    image = out.stages[0].value.numpy()
    blocks = [cnn_table(out, label, seed, view), view.image(image, f"image {view.shape(image.shape)}")]
    for s in out.stages[1:]:
        if s.name == "logits":
            continue
        value = s.value.numpy()
        title = f"{s.name}  {view.shape(value.shape)}  {s.description}"
        blocks.append(view.maps(value, title) if value.ndim == 3 else view.vector(value, title))
    logits, probs = out.logits.numpy(), out.probabilities.numpy()
    blocks.append(view.vector(logits, f"output without softmax  {view.shape(logits.shape)}"))
    blocks.append(view.vector(probs, f"output with softmax  {view.shape(probs.shape)}  (sums to {float(probs.sum()):.6f})"))
    top = ", ".join(f"#{i}: {v:.3g} (p = {probs[i]:.4f})" for i, v in top_k(logits))
    blocks.append(Text(f"largest outputs: {top}\n(untrained weights: the classes mean nothing)"))
    return blocks
