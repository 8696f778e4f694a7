"""Seed 004's convolution primitives equal torch.nn.functional; the CNN's shapes.

Tolerances: float32 comparisons use torch's own defaults for float32
(rtol 1.3e-6, atol 1e-5).  Each output value is a sum of at most 5·5·4 = 100
products of O(1) numbers, summed in a different order than torch's kernels:
the rounding difference is a few float32 ulps (~1e-7 relative per term), well
inside that.  float64 comparisons are tight (1e-12).
"""

from __future__ import annotations

import itertools

import pytest
import torch
import torch.nn.functional as F

from rnntui.engine.conv.cnn import SEED004_CNN, cnn_forward, cnn_shapes
from rnntui.engine.conv.mlp import init_mlp, mlp, mlp_forward, softmax
from rnntui.engine.conv.ops import activate, conv2d, conv_layer, convolve, global_avg_pool, pool2d, pooling_layer
from rnntui.engine.conv.spec import ACTIVATIONS, ConvError, Pool, output_size, size_formula

TORCH_ACT = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leaky-relu": lambda x: F.leaky_relu(x, 0.01),
    "none": lambda x: x,
}


def chw(volume: torch.Tensor) -> torch.Tensor:
    """(H, W, C) → (1, C, H, W), torch's layout."""
    return volume.permute(2, 0, 1)[None]


def torch_conv(x: torch.Tensor, filters: torch.Tensor, bias: torch.Tensor | None, stride: int, padding: int,
               activation: str) -> torch.Tensor:
    """The reference: F.conv2d on (F, kh, kw, C) filters, back to (H′, W′, F)."""
    y = F.conv2d(chw(x), filters.permute(0, 3, 1, 2), bias, stride=stride, padding=padding)
    return TORCH_ACT[activation](y)[0].permute(1, 2, 0)


# ---------------------------------------------------------------- activations
@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_equal_torch(name):
    x = torch.cat([torch.linspace(-100, 100, 2001), torch.tensor([0.0, -0.0, 1e-30, -1e-30])])
    torch.testing.assert_close(activate(x, name), TORCH_ACT[name](x))


def test_sigmoid_does_not_overflow():
    x = torch.tensor([-1000.0, 1000.0], dtype=torch.float64)
    assert activate(x, "sigmoid").tolist() == [0.0, 1.0]


# --------------------------------------------------------------- convolution
CASES = list(itertools.product(ACTIVATIONS, (1, 2, 3), (0, 1, 2), (1, 2, 3, 4)))


@pytest.mark.parametrize("activation,stride,padding,channels", CASES)
def test_conv2d_equals_torch(activation, stride, padding, channels):
    gen = torch.Generator().manual_seed(CASES.index((activation, stride, padding, channels)))
    image = torch.randn(9, 11, channels, generator=gen)
    kernel = torch.randn(3, 2, channels, generator=gen)
    out = conv2d(image, kernel, stride, padding, activation, bias=0.25)
    ref = torch_conv(image, kernel[None], torch.tensor([0.25]), stride, padding, activation)[:, :, 0]
    assert out.shape == (output_size(9, 3, stride, padding), output_size(11, 2, stride, padding))
    torch.testing.assert_close(out, ref)


@pytest.mark.parametrize("activation,stride,padding,channels", CASES[::7])
def test_conv_layer_equals_torch(activation, stride, padding, channels):
    image = torch.randn(12, 10, channels, generator=torch.Generator().manual_seed(1))
    layer = conv_layer(image, 6, 3, stride, padding, activation, seed=5)
    assert layer.filters.shape == (6, 3, 3, channels) and layer.bias.shape == (6,)
    assert layer.maps.shape == (output_size(12, 3, stride, padding), output_size(10, 3, stride, padding), 6)
    torch.testing.assert_close(layer.maps, torch_conv(image, layer.filters, layer.bias, stride, padding, activation))
    again = conv_layer(image, 6, 3, stride, padding, activation, seed=5)
    assert torch.equal(again.maps, layer.maps)  # same seed, same filters, same numbers
    assert not torch.equal(conv_layer(image, 6, 3, stride, padding, activation, seed=6).filters, layer.filters)


def test_conv_float64_is_tight_and_multiplies_by_the_kernel():
    image = torch.randn(7, 8, 3, dtype=torch.float64)
    kernel = torch.randn(4, 3, 3, dtype=torch.float64)
    out = convolve(image, kernel[None], None, 2, 1, "none")[:, :, 0]
    ref = torch_conv(image, kernel[None], None, 2, 1, "none")[:, :, 0]
    torch.testing.assert_close(out, ref, rtol=1e-12, atol=1e-12)
    # the seed summed the window without multiplying by the kernel; the top-left value
    # here is the window times the kernel (padding 1 puts the image at offset 1)
    window = torch.zeros(4, 3, 3, dtype=torch.float64)
    window[1:, 1:] = image[:3, :2]
    assert abs(out[0, 0].item() - (window * kernel).sum().item()) < 1e-12
    assert abs(out[0, 0].item() - window.sum().item()) > 1e-3


def test_conv_init_is_torch_default_range():
    layer = conv_layer(torch.zeros(5, 5, 4), 64, 3, seed=0)
    bound = 1 / (3 * 3 * 4) ** 0.5
    assert layer.filters.abs().max() <= bound and layer.filters.abs().max() > 0.9 * bound


@pytest.mark.parametrize("kwargs,key", [
    (dict(kernel=torch.ones(3, 3, 2)), "kernel"),  # 2 channels, the image has 3
    (dict(kernel=torch.ones(9, 3, 3)), "kernel"),  # larger than the 8×8 image
    (dict(kernel=torch.ones(3, 3, 3), stride=0), "stride"),
    (dict(kernel=torch.ones(3, 3, 3), padding=-1), "padding"),
    (dict(kernel=torch.ones(3, 3, 3), activation="softplus"), "activation"),
])
def test_conv_bad_input_names_the_field(kwargs, key):
    with pytest.raises(ConvError) as info:
        conv2d(torch.ones(8, 8, 3), **kwargs)
    assert info.value.key == key and "allowed" in str(info.value)


def test_kernel_fits_once_padded():
    # 9×9 does not fit in 8×8, but does with padding 1 (10×10): two positions a side
    assert conv2d(torch.ones(8, 8, 1), torch.ones(9, 9, 1), padding=1).shape == (2, 2)


def test_size_formula():
    assert output_size(64, 3) == 62 and output_size(55, 2, 2) == 27 and output_size(55, 2, 1) == 54
    assert size_formula(64, 3, 1, 0) == "⌊(64 − 3 + 2·0)/1⌋ + 1 = 62"


# ------------------------------------------------------------------- pooling
@pytest.mark.parametrize("kind,size,stride,channels", list(itertools.product(("max", "avg"), (1, 2, 3),
                                                                              (None, 1, 2, 3), (None, 1, 3))))
def test_pool2d_equals_torch(kind, size, stride, channels):
    shape = (10, 9) if channels is None else (10, 9, channels)
    maps = torch.randn(*shape, generator=torch.Generator().manual_seed(size))
    out = pool2d(maps, kind, size, stride)
    x = maps[None, None] if channels is None else chw(maps)
    ref = (F.max_pool2d if kind == "max" else F.avg_pool2d)(x, size, stride or size)
    ref = ref[0, 0] if channels is None else ref[0].permute(1, 2, 0)
    s = stride or size
    assert out.shape[:2] == (output_size(10, size, s), output_size(9, size, s))
    torch.testing.assert_close(out, ref)


def test_global_pooling_equals_torch():
    volume = torch.randn(7, 5, 6)
    torch.testing.assert_close(global_avg_pool(volume), F.adaptive_avg_pool2d(chw(volume), 1).flatten())
    torch.testing.assert_close(pooling_layer(volume, "avg", "global"), F.adaptive_avg_pool2d(chw(volume), 1).flatten())
    torch.testing.assert_close(pooling_layer(volume, "max", "global"), F.adaptive_max_pool2d(chw(volume), 1).flatten())
    torch.testing.assert_close(pooling_layer(volume, "max", 2), F.max_pool2d(chw(volume), 2)[0].permute(1, 2, 0))


def test_pool_bad_input():
    with pytest.raises(ConvError, match="pool"):
        pool2d(torch.ones(3, 3), "max", 4)
    with pytest.raises(ConvError, match="allowed: max, avg"):
        pool2d(torch.ones(3, 3), "median", 2)
    with pytest.raises(ConvError, match="stride"):
        pool2d(torch.ones(3, 3), "max", 2, 0)
    assert Pool.parse("max:2") == Pool("max", 2, 2) and Pool.parse("avg:3:1") == Pool("avg", 3, 1)
    assert Pool.parse("global") == Pool("global") and Pool.parse("none") is None
    for bad in ("max", "max:0", "avg:2:0", "sum:2", "max:x"):
        with pytest.raises(ConvError, match="pool"):
            Pool.parse(bad)


# ----------------------------------------------------------------------- MLP
@pytest.mark.parametrize("hidden_layers,activation,use_softmax,batch",
                         list(itertools.product((0, 1, 3), ("tanh", "relu", "sigmoid"), (False, True), (False, True))))
def test_mlp_equals_torch(hidden_layers, activation, use_softmax, batch):
    x = torch.randn(*((4, 12) if batch else (12,)), generator=torch.Generator().manual_seed(3))
    out = mlp(x, hidden_layers, 7, activation, 5, softmax=use_softmax, seed=11)
    h = x
    for weight, bias in out.params[:-1]:
        h = TORCH_ACT[activation](F.linear(h, weight, bias))
    ref = F.linear(h, *out.params[-1])
    ref = F.softmax(ref, dim=-1) if use_softmax else ref
    assert out.output.shape == ((4, 5) if batch else (5,))
    assert [tuple(w.shape) for w, _ in out.params] == [(7, 12)] * min(hidden_layers, 1) + [(7, 7)] * max(
        hidden_layers - 1, 0) + [(5, 7 if hidden_layers else 12)]
    torch.testing.assert_close(out.output, ref)


def test_mlp_with_and_without_softmax_is_one_network():
    x = torch.randn(20)
    logits = mlp(x, 2, 16, "relu", 10, softmax=False, seed=4).output
    probs = mlp(x, 2, 16, "relu", 10, softmax=True, seed=4).output
    torch.testing.assert_close(probs, F.softmax(logits, dim=0))
    assert abs(probs.sum().item() - 1) < 1e-6


def test_softmax_is_stable_for_large_logits():
    z = torch.tensor([1000.0, 999.0, -1000.0])
    torch.testing.assert_close(softmax(z), F.softmax(z, dim=0))
    assert torch.isfinite(softmax(z)).all()


def test_mlp_bad_sizes():
    with pytest.raises(ConvError, match="hidden_size"):
        init_mlp(4, 1, 0, 3, torch.Generator())
    params = init_mlp(4, 1, 5, 3, torch.Generator())
    with pytest.raises(ConvError, match="vector"):
        mlp_forward(torch.ones(6), params)


# ----------------------------------------------------------------------- CNN
def test_cnn_layer_shapes_for_a_64x64_image():
    out = cnn_forward(torch.rand(64, 64, 3), seed=0)
    shapes = [(s.name, tuple(s.value.shape)) for s in out.stages]
    assert shapes == [("image", (64, 64, 3)), ("conv1", (62, 62, 16)), ("pool1", (31, 31, 16)),
                      ("conv2", (29, 29, 32)), ("pool2", (14, 14, 32)), ("gap", (32,)), ("hidden", (20,)),
                      ("logits", (1000,))]
    assert shapes == cnn_shapes((64, 64, 3))
    assert out.logits.shape == out.probabilities.shape == (1000,)


@pytest.mark.parametrize("shape", [(37, 50, 1), (10, 10, 4), (224, 224, 3)])
def test_cnn_shapes_follow_the_formula(shape):
    expected = cnn_shapes(shape)
    h, w = shape[:2]
    h, w = output_size(h, 3), output_size(w, 3)
    assert expected[1][1] == (h, w, 16)
    h, w = output_size(h, 2, 2), output_size(w, 2, 2)
    assert expected[2][1] == (h, w, 16)
    if shape[0] < 100:  # the 224² case: shapes only (no forward, to stay fast)
        assert [tuple(s.value.shape) for s in cnn_forward(torch.rand(*shape)).stages] == [s for _, s in expected]


def test_cnn_forward_equals_torch_with_the_same_weights():
    image = torch.rand(20, 23, 3, generator=torch.Generator().manual_seed(8))
    out = cnn_forward(image, seed=3)
    f1, b1 = out.params["conv1"]
    f2, b2 = out.params["conv2"]
    x = F.relu(F.conv2d(chw(image), f1.permute(0, 3, 1, 2), b1))
    x = F.max_pool2d(x, 2, 2)
    x = F.relu(F.conv2d(x, f2.permute(0, 3, 1, 2), b2))
    x = F.max_pool2d(x, 2, 2)
    torch.testing.assert_close(out.stages[4].value, x[0].permute(1, 2, 0))
    gap = F.adaptive_avg_pool2d(x, 1).flatten()
    (w1, c1), (w2, c2) = out.params["mlp"]
    logits = F.linear(torch.tanh(F.linear(gap, w1, c1)), w2, c2)
    torch.testing.assert_close(out.logits, logits)
    torch.testing.assert_close(out.probabilities, F.softmax(logits, dim=0))
    assert w1.shape == (20, 32) and w2.shape == (1000, 20)


def test_cnn_is_seeded_and_checks_the_image():
    image = torch.rand(16, 16, 3)
    assert torch.equal(cnn_forward(image, seed=1).logits, cnn_forward(image, seed=1).logits)
    assert not torch.equal(cnn_forward(image, seed=1).logits, cnn_forward(image, seed=2).logits)
    with pytest.raises(ConvError, match="too small"):
        cnn_forward(torch.rand(8, 8, 3))
    assert [layer.name for layer in SEED004_CNN] == ["conv1", "pool1", "conv2", "pool2", "gap", "mlp"]
