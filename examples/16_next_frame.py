"""Predicting the next frame of a video with convolutional LSTMs, as keras.io's "Next-frame video prediction
with convolutional LSTMs" does on Moving MNIST: its model with its imports changed, smaller, on smaller
frames, trained for less time (so a learning rate of 0.01 and batch normalization's momentum 0.9), and with
one change that keeps the score honest: its final Conv3D has a kernel of 1 step in time, not 3. With 3, the
output for frame t also reads the LSTM's state after frame t + 1, which is that output's own target. The
movies here are generated, so the recipe runs anywhere and we know what there is to learn: bright squares
slide across a dark 16x16 frame, each at its own constant speed, bouncing off the borders.

A video is 5-D: (movies, frames, height, width, channels). `ConvLSTM2D` is an LSTM whose gates are
convolutions, so its state is an image: it reads the frames in order and keeps, at every pixel, what it has
seen move there. `Conv3D` then turns the states into predicted frames. The target of frame t is frame t + 1.

The baseline to beat: "the next frame is this frame" (right wherever nothing moves, wrong at every edge of
a moving square). A model that has learned the motion predicts where each square goes.

Measured here (2 shared CPU cores), seed 0, the defaults below: the pixels wrong in the next frames of unseen
movies, from the third frame on (a square's speed shows in two frames), lit where the model gives over
0.5: "same as now" 5.07 %, the ConvLSTM 0.60 %; an epoch takes about 2 to 2.5 s (19 to 27 s for the whole
script in two runs),
with

    python examples/16_next_frame.py
"""
import time

import numpy as np

import scratchgrad as keras
from scratchgrad import layers

SIZE, SQUARE = 16, 3


def movies(n, frames=8, seed=0):
    """(n, frames, SIZE, SIZE, 1) float32 movies of one or two bright squares, each moving at a constant speed
    (one pixel a frame along one axis or both), bouncing off the borders."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, frames, SIZE, SIZE, 1), np.float32)
    for movie in out:
        for _ in range(rng.integers(1, 3)):
            position = rng.integers(0, SIZE - SQUARE + 1, 2)
            velocity = rng.choice([-1, 0, 1], 2)
            velocity[rng.integers(0, 2)] = rng.choice([-1, 1])  # moving along one axis at least
            for frame in movie:
                row, col = position
                frame[row:row + SQUARE, col:col + SQUARE] = 1.0
                velocity = np.where((position + velocity < 0) | (position + velocity > SIZE - SQUARE), -velocity,
                                    velocity)
                position = position + velocity
    return out


def model_for(filters=8):
    """keras.io's model, smaller: three ConvLSTM2D with batch normalization, then a Conv3D to frames that
    reads one step at a time (see the module's description)."""
    inputs = keras.Input(shape=(None, SIZE, SIZE, 1))
    x = layers.ConvLSTM2D(filters, (5, 5), padding="same", return_sequences=True, activation="relu")(inputs)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.ConvLSTM2D(filters, (3, 3), padding="same", return_sequences=True, activation="relu")(x)
    x = layers.BatchNormalization(momentum=0.9)(x)
    x = layers.ConvLSTM2D(filters, (1, 1), padding="same", return_sequences=True, activation="relu")(x)
    outputs = layers.Conv3D(1, (1, 3, 3), activation="sigmoid", padding="same")(x)
    model = keras.Model(inputs, outputs)
    model.compile(loss=keras.losses.binary_crossentropy, optimizer=keras.optimizers.Adam(learning_rate=0.01))
    return model


def main(train=400, test=100, epochs=10, seed=0, verbose=2):
    keras.set_seed(seed)
    videos, unseen = movies(train, seed=seed), movies(test, seed=seed + 1)
    x, y = videos[:, :-1], videos[:, 1:]  # each frame's target: the next one
    model = model_for()
    start = time.perf_counter()
    model.fit(x, y, batch_size=10, epochs=epochs, validation_split=0.1, verbose=verbose)
    seconds = time.perf_counter() - start
    predicted = model.predict(unseen[:, :-1], verbose=0) > 0.5  # a pixel is lit or not
    later = slice(2, None)  # from the third frame on: a square's speed shows in two frames
    target = unseen[:, 1:][:, later] > 0.5
    baseline = float(((unseen[:, :-1][:, later] > 0.5) != target).mean())
    error = float((predicted[:, later] != target).mean())
    print(f"pixels wrong in unseen movies' next frames: 'same as now' {baseline:.2%}, ConvLSTM {error:.2%} "
          f"({seconds:.0f} s of training)")
    return {"baseline_error": baseline, "model_error": error}


if __name__ == "__main__":
    main()
