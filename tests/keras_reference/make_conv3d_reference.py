"""Generate Keras 3's outputs of its 3-D convolution, pooling and reshaping layers on fixed inputs and
weights, for tests/test_conv3d.py.

Not run in CI: run by hand where Keras 3 and TensorFlow are installed; it writes ``conv3d_layers.npz``
next to itself. Case i is ``cases[i]``, the repr of (layer class name, input shape without the batch axis,
keyword arguments), which the test rebuilds the layer from; ``{i}_x`` is its input, ``{i}_w{j}`` its j-th
weight (Keras's order and layout, set with set_weights), ``{i}_y`` Keras's output, ``{i}_shape`` Keras's
compute_output_shape and ``{i}_params`` its parameter count.

TensorFlow's backend, whose "same" average pooling averages the real voxels only (the torch backend's
averages copies of the edge voxels in where the padding is uneven, see make_conv1d_reference.py).

Usage::

    KERAS_BACKEND=tensorflow python make_conv3d_reference.py
"""
import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

from make_conv1d_reference import write  # noqa: E402  (the same writer, on this backend)

CF = {"data_format": "channels_first"}
CASES = [
    ("Conv3D", (5, 6, 7, 3), {"filters": 4, "kernel_size": 3}),
    ("Conv3D", (5, 6, 7, 3), {"filters": 4, "kernel_size": (2, 3, 3), "strides": 2, "padding": "same"}),
    ("Conv3D", (6, 5, 4, 2), {"filters": 3, "kernel_size": (3, 2, 2), "strides": (3, 1, 2), "padding": "same",
                              "activation": "relu"}),
    ("Conv3D", (7, 7, 7, 2), {"filters": 3, "kernel_size": 2, "dilation_rate": 2}),
    ("Conv3D", (6, 6, 6, 2), {"filters": 2, "kernel_size": 3, "dilation_rate": (2, 1, 2), "padding": "same"}),
    ("Conv3D", (4, 5, 5, 4), {"filters": 6, "kernel_size": 3, "groups": 2, "padding": "same", "use_bias": False}),
    ("Conv3D", (3, 5, 6, 4), {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same", **CF}),
    ("Conv3D", (4, 5, 4, 5), {"filters": 4, "kernel_size": 2, "dilation_rate": (2, 1, 1), "groups": 2,
                              "padding": "same", **CF}),
    ("Conv3DTranspose", (3, 4, 4, 3), {"filters": 2, "kernel_size": 3}),
    ("Conv3DTranspose", (3, 4, 4, 3), {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same"}),
    ("Conv3DTranspose", (3, 3, 4, 2), {"filters": 2, "kernel_size": (2, 3, 3), "strides": (2, 1, 2),
                                       "output_padding": (1, 0, 1)}),
    ("Conv3DTranspose", (2, 3, 3, 4), {"filters": 3, "kernel_size": 2, "strides": 2, **CF}),
    ("Conv3DTranspose", (3, 4, 3, 2), {"filters": 2, "kernel_size": 2, "dilation_rate": (2, 1, 2), "padding": "same"}),
    ("MaxPooling3D", (6, 6, 7, 3), {}),
    ("MaxPooling3D", (5, 6, 7, 3), {"pool_size": 3, "strides": 2, "padding": "same"}),
    ("MaxPooling3D", (5, 4, 6, 2), {"pool_size": (2, 3, 2), "strides": (1, 2, 2)}),
    ("MaxPooling3D", (2, 5, 4, 6), {"pool_size": 2, "padding": "same", **CF}),
    ("AveragePooling3D", (6, 6, 7, 3), {"pool_size": 2}),
    ("AveragePooling3D", (5, 6, 7, 3), {"pool_size": 3, "strides": 2, "padding": "same"}),
    ("AveragePooling3D", (5, 4, 6, 2), {"pool_size": (3, 2, 2), "strides": (1, 2, 1), "padding": "same"}),
    ("AveragePooling3D", (2, 5, 4, 6), {"pool_size": 2, "padding": "same", **CF}),
    ("GlobalAveragePooling3D", (3, 4, 5, 2), {}),
    ("GlobalAveragePooling3D", (2, 3, 4, 5), {"keepdims": True, **CF}),
    ("GlobalMaxPooling3D", (3, 4, 5, 2), {}),
    ("GlobalMaxPooling3D", (3, 4, 5, 2), {"keepdims": True}),
    ("UpSampling3D", (2, 3, 2, 2), {}),
    ("UpSampling3D", (2, 3, 2, 2), {"size": (1, 2, 3)}),
    ("UpSampling3D", (2, 2, 3, 2), {"size": 2, **CF}),
    ("ZeroPadding3D", (2, 3, 2, 2), {}),
    ("ZeroPadding3D", (2, 3, 2, 2), {"padding": (1, 0, 2)}),
    ("ZeroPadding3D", (2, 2, 3, 2), {"padding": ((0, 1), (2, 0), (1, 1)), **CF}),
    ("Cropping3D", (4, 5, 6, 2), {}),
    ("Cropping3D", (4, 5, 6, 2), {"cropping": ((1, 0), (0, 2), (2, 1))}),
    ("Cropping3D", (2, 4, 5, 6), {"cropping": 1, **CF}),
]


if __name__ == "__main__":
    write(CASES, "conv3d_layers.npz")
