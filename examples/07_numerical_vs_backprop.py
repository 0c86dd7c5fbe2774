"""Why backprop matters: one training step with numerical gradients against one with backprop.

Central differences need two forward passes per parameter; backprop gets every gradient from one forward
and one backward pass. Deep Learning from Scratch trains this 784-50-10 net with numerical gradients in
chapter 4 and replaces them with backprop in chapter 5; the script estimates what an MNIST epoch of the
chapter 4 way would cost on this machine (about 1.8 hours on a 2-core VM; the ratio to backprop is
thousands).

    python examples/07_numerical_vs_backprop.py
"""
import time

import numpy as np

import scratchgrad
from scratchgrad import Tensor, numerical_gradient
from scratchgrad import functional as F
from scratchgrad.datasets import load_digits
from scratchgrad.gradcheck import relative_error
from scratchgrad.layers import Dense

STEPS_PER_MNIST_EPOCH = 600  # 60,000 images in batches of 100


def make_net(inputs, hidden, dtype="float64"):
    """inputs -> hidden sigmoid -> 10 logits (the softmax lives in the loss)."""
    return scratchgrad.Sequential([Dense(hidden, activation="sigmoid", input_dim=inputs, dtype=dtype),
                                   Dense(10, dtype=dtype)])


def loss_fn(net, x, t):
    return lambda *_: F.cross_entropy(net(x), t)


def numerical_step(net, x, t):
    """Seconds to get every gradient by central differences; returns (seconds, gradients)."""
    start = time.perf_counter()
    grads = [numerical_gradient(loss_fn(net, x, t), w) for w in net.trainable_weights]
    return time.perf_counter() - start, grads


def backprop_step(net, x, t):
    start = time.perf_counter()
    loss_fn(net, x, t)().backward()
    grads = [w.grad.copy() for w in net.trainable_weights]
    seconds = time.perf_counter() - start
    for w in net.trainable_weights:
        w.grad = None
    return seconds, grads


def forward_seconds(net, x, repeats=20):
    start = time.perf_counter()
    with scratchgrad.no_grad():
        for _ in range(repeats):
            net(x)
    return (time.perf_counter() - start) / repeats


def main(hidden=50, batch_size=100, seed=0):
    """Returns {"numerical_s", "backprop_s", "ratio", "worst_difference", "mnist_epoch_hours"}."""
    scratchgrad.set_seed(seed)
    x, t = load_digits()
    x, t = Tensor(x[:batch_size] / 16, dtype="float64"), t[:batch_size]
    net = make_net(x.shape[1], hidden)
    numerical_s, numerical = numerical_step(net, x, t)
    backprop_s, backprop = backprop_step(net, x, t)
    worst = max(relative_error(b, n) for b, n in zip(backprop, numerical))
    print(f"net {x.shape[1]}-{hidden}-10 ({net.count_params():,} parameters), batch of {batch_size}:")
    print(f"  numerical gradients: {numerical_s * 1e3:9.1f} ms per step")
    print(f"  backprop:            {backprop_s * 1e3:9.3f} ms per step  ({numerical_s / backprop_s:,.0f} times faster)")
    print(f"  the two agree to a relative difference of {worst:.1e}")

    # the textbook's MNIST net: numerical cost = 2 forward passes per parameter
    mnist_net = make_net(784, 50, dtype="float32")
    mnist_x = Tensor(np.random.default_rng(seed).random((batch_size, 784)), dtype="float32")
    step_s = 2 * mnist_net.count_params() * forward_seconds(mnist_net, mnist_x)
    hours = step_s * STEPS_PER_MNIST_EPOCH / 3600
    print(f"784-50-10 on MNIST with numerical gradients: about {step_s:.0f} s per step, {hours:.1f} hours per epoch")
    print("(Deep Learning from Scratch, chapter 4's way); with backprop (chapter 5) an epoch takes seconds.")
    return {"numerical_s": numerical_s, "backprop_s": backprop_s, "ratio": numerical_s / backprop_s,
            "worst_difference": worst, "mnist_epoch_hours": hours}


if __name__ == "__main__":
    main()
