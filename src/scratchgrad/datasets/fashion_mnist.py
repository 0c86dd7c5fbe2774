"""Fashion-MNIST (Zalando's clothing images), Keras style: `load_data()` gives the raw uint8 arrays.

Files: the four IDX .gz files in `<data_dir or $SCRATCHGRAD_DATA>/fashion-mnist/`, else the download cache,
else the mirrors below. Verification differs from MNIST: no published sha256 of the decompressed files could
be found, so each file is checked by the sha256 of the .gz ARCHIVE as Zalando publishes it (values from
tensorflow-datasets' url_checksums; their sizes and MD5s agree with Zalando's README). A mirror that
re-compressed the files is therefore rejected even if its images are identical.
"""
from ._source import Source, load_source

SOURCE = Source(
    name="Fashion-MNIST",
    subdir="fashion-mnist",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    sha256={
        "train-images-idx3-ubyte.gz": "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        "train-labels-idx1-ubyte.gz": "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        "t10k-images-idx3-ubyte.gz": "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        "t10k-labels-idx1-ubyte.gz": "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    },
    hashed="archive",
)


def load_data(data_dir=None):
    """(x_train, y_train), (x_test, y_test): uint8 images (60000, 28, 28) / (10000, 28, 28), uint8 labels 0-9.

    As keras.datasets.fashion_mnist.load_data, except that `data_dir` names the folder holding `fashion-mnist/`.
    """
    return load_source(SOURCE, data_dir)
