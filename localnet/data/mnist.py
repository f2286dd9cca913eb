"""MNIST-format datasets in the registry: MNIST, Fashion-MNIST, KMNIST and the generic `idx`.

Checksums are the official ones (those torchvision checks). Fashion-MNIST and KMNIST
publish only the MD5s of their .gz files, so an uncompressed copy of their files is
checked for structure (IDX header, exact size, counts, label range), not by MD5.
"""

from __future__ import annotations

from .mnist_format import TEST_SIZE, TRAIN_SIZE, any_idx_files, load_mnist_format, mnist_format_files, parse_mnist_format_file
from .spec import DatasetSpec, FileSpec


def _mnist_family(name: str, title: str, files: tuple[FileSpec, ...], mirrors: tuple[str, ...]) -> DatasetSpec:
    """A dataset with MNIST's layout: 28x28x1 images, 10 classes, 60,000 / 10,000 examples."""
    return DatasetSpec(name=name, title=title, files=files, mirrors=mirrors, num_classes=10, input_shape=(28, 28, 1),
                       loader=load_mnist_format, parse_file=parse_mnist_format_file, train_size=TRAIN_SIZE,
                       test_size=TEST_SIZE)

MNIST = _mnist_family(
    name="mnist",
    title="MNIST",
    files=mnist_format_files(
        gz_md5=("f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
                "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c"),
        gz_size=(9_912_422, 28_881, 1_648_877, 4_542),
        md5=("6bbc9ace898e44ae57da46a324031adb", "a25bea736e30d166cdddb491f175f624",
             "2646ac647ad5339dbf082846283269ea", "27ae3e4e09519cfbb04c329615203637"),
    ),
    # The PyTorch S3 copy and Google's CVDF copy are fast and stable;
    # yann.lecun.com is the original but often refuses scripts (403).
    mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/",
             "http://yann.lecun.com/exdb/mnist/"),
)

FASHION_MNIST = _mnist_family(
    name="fashion_mnist",
    title="Fashion-MNIST",
    files=mnist_format_files(
        gz_md5=("8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
                "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310"),
        gz_size=(26_421_880, 29_515, 4_422_102, 5_148),
    ),
    mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
             "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
)

KMNIST = _mnist_family(
    name="kmnist",
    title="KMNIST",
    files=mnist_format_files(
        gz_md5=("bdb82020997e1d708af4cf47b453dcf7", "e144d726b3acfaa3e44228e80efcd344",
                "5c965bf0a639b31b8f53240b1b52f4d7", "7320c461ea6c1c855c0b718fb2a4b134"),
        gz_size=(18_165_135, 29_497, 3_041_136, 5_120),
    ),
    mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),
)

IDX = DatasetSpec(
    name="idx",
    title="IDX",
    files=any_idx_files(),
    mirrors=(),
    # Nominal (MNIST's) values for `localnet validate` / `plan`, which read no file;
    # `localnet run` builds the network from the files' shape and labels.
    num_classes=10,
    input_shape=(28, 28, 1),
    loader=load_mnist_format,
    parse_file=parse_mnist_format_file,
    shape_from_files=True,
    obtain=("put your own four IDX files under MNIST's names (train-images-idx3-ubyte, "
            "train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, each may end "
            "in .gz) in one folder and pass it as --data-dir (or $LOCALNET_DATA)"),
)
