"""Convolutional building blocks from scratch (seed 004, questions 1–6).

Volumes are ``(H, W, C)`` (rows, columns, channels) as in the seed; a kernel is
``(kh, kw, C)`` and a bank of filters ``(F, kh, kw, C)``.

* ``spec``   — names, the output-size formula and :class:`ConvError` (no torch).
* ``ops``    — activations, convolution, pooling, convolution and pooling layers.
* ``mlp``    — the multilayer perceptron and softmax.
* ``cnn``    — seed 004's CNN (conv → pool → conv → pool → global average → MLP).
* ``inputs`` — images (``.npy``, ``.png``, bundled) and kernels (``.npy``, named).
* ``png``    — a small PNG reader/writer (zlib + the five filter types).
* ``images`` — the bundled images, drawn by the project (no torch).

Every operation equals ``torch.nn.functional`` (tests/test_conv.py).  Nothing
here imports Textual; ``spec``, ``inputs``, ``png`` and ``images`` import no torch.
"""
