"""Generate Keras 3.15's keras.ops.image.affine_transform, perspective_transform, map_coordinates, ssim,
extract_patches_3d and scale_and_translate outputs on fixed inputs, for tests/test_image_ops.py, which builds
the same inputs and cases (`cases()` below, imported by the tests).

Not run in CI: run by hand where Keras 3 is installed; it writes ``image_ops.npz`` next to itself, one array
per case name. Made with the torch backend, whose affine_transform ignores c0 and c1 (the cases keep them 0).

Usage::

    KERAS_BACKEND=torch python make_image_ops_reference.py
"""
import os
from pathlib import Path

import numpy as np


def cases():
    """name -> (function name, positional arguments, keyword arguments), on seeded inputs."""
    rng = np.random.default_rng(5)
    images, array, volume = rng.random((2, 7, 9, 3)), rng.random((5, 6)), rng.random((3, 4, 5))
    images, array, volume = (a.astype(np.float32) for a in (images, array, volume))
    coords2 = rng.uniform(-3, 8, (2, 4, 5)).astype(np.float32)
    coords3 = rng.uniform(-2, 6, (3, 10)).astype(np.float32)
    transforms = np.array([[1.2, 0.1, -2.0, -0.2, 0.9, 1.5, 0, 0], [0.8, -0.3, 3.0, 0.25, 1.1, -2.5, 0, 0]],
                          np.float32)
    out = {f"affine_{i}_{f}": ("affine_transform", (images, transforms),
                               dict(interpolation=i, fill_mode=f, fill_value=0.5 if f == "constant" else 0))
           for i in ("bilinear", "nearest") for f in ("constant", "nearest", "wrap", "mirror", "reflect")}
    pixels = (images * 255).astype(np.uint8)
    out["affine_uint8"] = ("affine_transform", (pixels, transforms), dict(fill_mode="reflect"))
    out["affine_one_image_channels_first"] = ("affine_transform", (images[0].transpose(2, 0, 1), transforms[0]),
                                              dict(data_format="channels_first"))
    for order in (0, 1):
        for fill in ("constant", "nearest", "wrap", "mirror", "reflect"):
            options = dict(order=order, fill_mode=fill, fill_value=0.25)
            out[f"map2_{order}_{fill}"] = ("map_coordinates", (array, coords2), options)
            out[f"map3_{order}_{fill}"] = ("map_coordinates", (volume, coords3), options)
    start = np.array([[0, 0], [0, 6], [8, 0], [8, 6]], np.float32)
    end = np.array([[[1, 0.5], [0.5, 6], [7, -1], [8.5, 5]], [[0.2, 1], [1, 5.5], [7.5, 0.3], [8, 6.2]]], np.float32)
    for interpolation in ("bilinear", "nearest"):
        out[f"perspective_{interpolation}"] = ("perspective_transform", (images, np.stack([start, start]), end),
                                               dict(interpolation=interpolation, fill_value=0.3))
    out["perspective_one_image"] = ("perspective_transform", (images[1], start, end[0]), {})
    noisy = np.clip(images + rng.normal(0, 0.1, images.shape), 0, 1).astype(np.float32)
    big = rng.random((2, 16, 13, 2)).astype(np.float32)
    out["ssim"] = ("ssim", (big, np.clip(big + rng.normal(0, 0.05, big.shape), 0, 1).astype(np.float32)), {})
    out["ssim_small_window_255"] = ("ssim", (images * 255, noisy * 255),
                                    dict(max_val=255.0, filter_size=5, filter_sigma=1.0, k1=0.02))
    out["ssim_one_image_channels_first"] = ("ssim", (images[0].transpose(2, 0, 1), noisy[0].transpose(2, 0, 1)),
                                            dict(filter_size=3, data_format="channels_first"))
    volumes = rng.random((2, 6, 7, 5, 2)).astype(np.float32)
    out["patches3d"] = ("extract_patches_3d", (volumes, 2), {})
    out["patches3d_strides_same"] = ("extract_patches_3d", (volumes, (2, 3, 2)),
                                     dict(strides=(1, 2, 2), padding="same"))
    out["patches3d_dilated"] = ("extract_patches_3d", (volumes, 2), dict(strides=1, dilation_rate=(2, 1, 2)))
    out["patches3d_one_channels_first"] = ("extract_patches_3d", (volumes[0].transpose(3, 0, 1, 2), 3),
                                           dict(strides=2, data_format="channels_first"))
    out["map_integers"] = ("map_coordinates", ((array * 100).astype(np.int32), coords2), dict(order=1))
    out["map_integers_fill"] = ("map_coordinates", ((array * 100).astype(np.int32), coords2),
                                dict(order=1, fill_value=0.6))
    small = rng.random((2, 6, 5, 2)).astype(np.float32)
    for method in ("linear", "cubic", "lanczos3", "lanczos5"):
        for antialias in (True, False):
            out[f"scale_shrink_{method}_{antialias}"] = (
                "scale_and_translate", (images, (2, 4, 5, 3), [0.5, 0.6], [0.25, -0.5], (1, 2), method),
                dict(antialias=antialias))
        out[f"scale_grow_{method}"] = ("scale_and_translate", (small, (2, 13, 8, 2), [2.2, 1.5], [-1.0, 0.7], (1, 2),
                                                               method), {})
    out["scale_one_axis_bicubic"] = ("scale_and_translate", (array, (5, 9), [1.7], [0.3], (-1,), "bicubic"), {})
    out["scale_uint8"] = ("scale_and_translate", ((images * 255).astype(np.uint8), (2, 9, 6, 3), [1.3, 0.7],
                                                  [0.0, 0.4], (1, 2), "lanczos3"), {})
    out["scale_float64_steps"] = ("scale_and_translate", (images, (2, 7, 9, 3),
                                                          np.array([1.0, 0.8]), np.array([1.5, 0.0]), (1, 2),
                                                          "trilinear"), dict(antialias=False))
    return out


if __name__ == "__main__":
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    outputs = {name: keras.ops.convert_to_numpy(getattr(keras.ops.image, function)(*args, **kwargs))
               for name, (function, args, kwargs) in cases().items()}
    np.savez_compressed(Path(__file__).with_name("image_ops.npz"), **outputs)
