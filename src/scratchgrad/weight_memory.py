"""Where small weights live: end to end in shared blocks of memory, in the order they are made.

A layer's trainable weights are made one after another as a model builds (a Dense layer's kernel, then its
bias, then the next layer's), so a small network's weights lie in one run of memory, in the order its
optimizer lists them. The optimizer then updates them all in one pass over that run (`_Pack.run`, in
optimizers/base.py) instead of one pass per weight: at Iris's size each pass costs more than its arithmetic.

Each weight is still its own array (a view into the block), the one `layer.kernel.data` gives for the life
of the model. Where the weights an optimizer updates are not end to end (one was set to another array, a
layer between them was frozen, a model was deep-copied), it updates them weight by weight, as before, with
the same numbers (so also where a model's weights happen to start near a block's end and continue in the
next). Large weights (over LARGEST numbers), non-trainable ones and arrays other than NumPy's keep memory of
their own: for them one pass more or less costs little.

Blocks are shared by every model built, and a block lives while any weight in it does: a model kept while
others built after it are dropped keeps its block, with the pages they wrote. Blocks are small so that this
costs at most 256 KiB (of float32) a kept block; the price is that a model of 10,000 weights starts near a
block's end about one time in six (10,000 / 65,536).
"""
import threading

import numpy as np

BLOCK = 1 << 16  # elements per block (256 KiB of float32)
LARGEST = 1 << 13  # elements of the largest weight placed in a block
_blocks = {}  # dtype -> (the block being filled, how many of its elements are taken)
_lock = threading.Lock()


def place(array):
    """`array` copied to the next free part of the current block of its dtype (a view of it), or `array`
    itself where it keeps its own memory."""
    if type(array) is not np.ndarray or array.dtype.kind != "f" or not 0 < array.size <= LARGEST:
        return array
    with _lock:
        block, taken = _blocks.get(array.dtype, (None, BLOCK))
        if taken + array.size > BLOCK:
            block, taken = np.empty(BLOCK, array.dtype), 0
        view = block[taken:taken + array.size].reshape(array.shape)
        _blocks[array.dtype] = block, taken + array.size
    view[...] = array
    return view


def run(arrays):
    """A 1-D view covering `arrays` where they lie end to end in one block, in this order; else None."""
    block = arrays[0].base
    if type(block) is not np.ndarray or block.ndim != 1 or block.base is not None:
        return None
    if not all(type(a) is np.ndarray and a.base is block and a.dtype == block.dtype and a.flags.c_contiguous
               for a in arrays):
        return None
    start = _offset(arrays[0], block)
    end = start
    for a in arrays:
        if _offset(a, block) != end:
            return None
        end += a.size
    return block[start:end]


def _offset(view, block):
    """The element of `block` where `view` starts."""
    return (view.__array_interface__["data"][0] - block.__array_interface__["data"][0]) // block.itemsize
