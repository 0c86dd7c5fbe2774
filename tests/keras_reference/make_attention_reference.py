"""Keras 3's outputs and attention scores for scratchgrad's attention layers (tests/test_attention.py).

Run by hand where Keras 3 is installed; writes ``attention_reference.npz`` next to itself:

    KERAS_BACKEND=torch python make_attention_reference.py

Each case stores its inputs and masks (``<case>/in/<name>``), the weights set into the Keras layer
(``<case>/w<i>``, in get_weights() order), Keras's output and, when asked for, its attention scores;
``spec`` holds, as JSON, each case's layer class, constructor arguments and call flags. All float32.
"""
import json
import os
import sys

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
from keras.src.backend import set_keras_mask

rng = np.random.default_rng(14)


def normal(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def bits(*shape, p=0.7):
    return rng.random(shape) < p


B, T, S = 2, 4, 5
VALUE_MASK = np.array([[1, 1, 0, 1, 0], [0, 0, 0, 0, 0]], bool)  # the second sample has nothing to attend to
QUERY_MASK = np.array([[1, 1, 1, 0], [1, 0, 1, 1]], bool)

# name -> (layer class, constructor arguments, inputs and masks, call flags)
CASES = {
    "mha_cross": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "value_dim": 2},
                  {"query": normal(B, T, 4), "value": normal(B, S, 6)}, {"return_attention_scores": True}),
    "mha_fused_path": ("MultiHeadAttention", {"num_heads": 3, "key_dim": 2},  # Keras's dot_product_attention
                       {"query": normal(B, T, 4), "value": normal(B, S, 4), "key": normal(B, S, 3),
                        "value_mask": np.array([[1, 1, 0, 1, 0], [0, 1, 1, 1, 1]], bool)}, {}),
    "mha_output_shape": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 2, "output_shape": (2, 3),
                                                "use_bias": False},
                         {"query": normal(B, T, 4), "value": normal(B, S, 4)}, {"return_attention_scores": True}),
    "mha_value_mask": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3},
                       {"query": normal(B, T, 4), "value": normal(B, S, 4), "value_mask": VALUE_MASK},
                       {"return_attention_scores": True}),
    "mha_key_mask": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3},
                     {"query": normal(B, T, 4), "value": normal(B, S, 4), "key": normal(B, S, 4),
                      "key_mask": bits(B, S)}, {"return_attention_scores": True}),
    "mha_query_mask": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3},
                       {"query": normal(B, T, 4), "value": normal(B, S, 4), "query_mask": QUERY_MASK},
                       {"return_attention_scores": True}),
    "mha_attention_mask": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3},
                           {"query": normal(B, T, 4), "value": normal(B, S, 4), "attention_mask": bits(B, T, S)},
                           {"return_attention_scores": True}),
    "mha_causal": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3},
                   {"query": normal(B, T, 4), "value": normal(B, T, 4)},
                   {"return_attention_scores": True, "use_causal_mask": True}),
    "mha_causal_fused_path": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3},
                              {"query": normal(B, T, 4), "value": normal(B, T, 4)}, {"use_causal_mask": True}),
    "mha_sliding_window": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "sliding_window": 2},
                           {"query": normal(B, T, 4), "value": normal(B, T, 4)},
                           {"return_attention_scores": True, "use_causal_mask": True}),
    "mha_every_mask": ("MultiHeadAttention", {"num_heads": 2, "key_dim": 3, "dropout": 0.5},  # inference
                       {"query": normal(B, T, 4), "value": normal(B, T, 4), "query_mask": QUERY_MASK,
                        "value_mask": bits(B, T, p=0.8), "attention_mask": bits(B, T, T, p=0.8)},
                       {"return_attention_scores": True, "use_causal_mask": True}),
    "attention_dot": ("Attention", {"use_scale": True},
                      {"query": normal(B, T, 3), "value": normal(B, S, 3), "key": normal(B, S, 3)},
                      {"return_attention_scores": True}),
    "attention_masks": ("Attention", {},
                        {"query": normal(B, T, 3), "value": normal(B, S, 3), "query_mask": QUERY_MASK,
                         "value_mask": VALUE_MASK}, {"return_attention_scores": True}),
    "attention_concat_causal": ("Attention", {"score_mode": "concat", "use_scale": True, "dropout": 0.5},
                                {"query": normal(B, T, 3), "value": normal(B, T, 3),
                                 "value_mask": bits(B, T, p=0.8)},
                                {"return_attention_scores": True, "use_causal_mask": True}),
    "additive_attention": ("AdditiveAttention", {},
                           {"query": normal(B, T, 3), "value": normal(B, S, 3), "key": normal(B, S, 3),
                            "query_mask": QUERY_MASK, "value_mask": VALUE_MASK}, {"return_attention_scores": True}),
    # (drawn after the cases above, which keep their numbers)
    "gqa_cross": ("GroupQueryAttention", {"head_dim": 3, "num_query_heads": 4, "num_key_value_heads": 2},
                  {"query": normal(B, T, 4), "value": normal(B, S, 6), "key": normal(B, S, 5)},
                  {"return_attention_scores": True}),
    "gqa_fused_path": ("GroupQueryAttention", {"head_dim": 2, "num_query_heads": 3, "num_key_value_heads": 1},
                       {"query": normal(B, T, 4), "value": normal(B, S, 4), "value_mask": VALUE_MASK}, {}),
    "gqa_every_mask": ("GroupQueryAttention", {"head_dim": 3, "num_query_heads": 2, "num_key_value_heads": 2,
                                               "dropout": 0.5, "sliding_window": 3},  # inference
                       {"query": normal(B, T, 4), "value": normal(B, T, 4), "query_mask": QUERY_MASK,
                        "value_mask": bits(B, T, p=0.8), "attention_mask": bits(B, T, T, p=0.8)},
                       {"return_attention_scores": True, "use_causal_mask": True}),
}


def tensor(x, mask=None):
    t = keras.ops.convert_to_tensor(x)
    if mask is not None:  # Keras 3.15 reads MultiHeadAttention's query mask from the query tensor only
        set_keras_mask(t, keras.ops.convert_to_tensor(mask))
    return t


def run(class_name, config, arrays, flags):
    layer = getattr(keras.layers, class_name)(**config)
    masks = {k: v for k, v in arrays.items() if k.endswith("_mask")}
    if class_name in ("MultiHeadAttention", "GroupQueryAttention"):
        call = lambda: layer(tensor(arrays["query"], masks.get("query_mask")), tensor(arrays["value"]),
                             key=None if "key" not in arrays else tensor(arrays["key"]),
                             **{k: v for k, v in masks.items() if k != "query_mask"}, **flags)
    else:
        inputs = [arrays[k] for k in ("query", "value", "key") if k in arrays]
        mask = [masks.get("query_mask"), masks.get("value_mask")] if masks else None
        call = lambda: layer(inputs, mask=mask, **flags)
    call()  # builds
    weights = [normal(*w.shape) * 0.5 + (1 if "scale" in w.path else 0) for w in layer.weights]
    layer.set_weights(weights)
    result = call()
    output, scores = result if flags.get("return_attention_scores") else (result, None)
    return weights, keras.ops.convert_to_numpy(output), None if scores is None else keras.ops.convert_to_numpy(scores)


def main(path):
    stored, spec = {}, {}
    for name, (class_name, config, arrays, flags) in CASES.items():
        weights, output, scores = run(class_name, config, arrays, flags)
        spec[name] = {"layer": class_name, "config": config, "call": flags}
        stored.update({f"{name}/in/{k}": v for k, v in arrays.items()})
        stored.update({f"{name}/w{i}": w for i, w in enumerate(weights)})
        stored[f"{name}/output"] = output
        if scores is not None:
            stored[f"{name}/scores"] = scores
    np.savez_compressed(path, spec=json.dumps({"keras": keras.__version__, "cases": spec}), **stored)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                              "attention_reference.npz"))
