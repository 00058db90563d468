#!/usr/bin/env python3
"""Cuts the CIFAR-10 sample that ships inside stepwise-data from a cifar-10-binary.tar.gz.

    python3 crates/data/sample/cut_sample.py ../shared/cifar10/cifar-10-binary.tar.gz

Writes train.bin (the first 200 images of each class in data_batch_1.bin's order: 2,000 records)
and test.bin (the first 100 of each class in test_batch.bin's order: 1,000 records) beside this
script, in the official binary format. Standard library only.
"""
import sys
import tarfile
from pathlib import Path

RECORD = 3073
CLASSES = 10


def first_per_class(data: bytes, per_class: int) -> bytes:
    taken = [0] * CLASSES
    out = bytearray()
    for offset in range(0, len(data), RECORD):
        label = data[offset]
        if taken[label] < per_class:
            taken[label] += 1
            out += data[offset : offset + RECORD]
        if all(t == per_class for t in taken):
            return bytes(out)
    raise SystemExit(f"only {taken} images per class available; need {per_class}")


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    with tarfile.open(sys.argv[1], "r:gz") as archive:
        def member(name: str) -> bytes:
            handle = archive.extractfile(f"cifar-10-batches-bin/{name}")
            if handle is None:
                raise SystemExit(f"{sys.argv[1]}: no {name}")
            return handle.read()

        train = member("data_batch_1.bin")
        test = member("test_batch.bin")
    here = Path(__file__).resolve().parent
    (here / "train.bin").write_bytes(first_per_class(train, 200))
    (here / "test.bin").write_bytes(first_per_class(test, 100))
    print(f"wrote {here / 'train.bin'} and {here / 'test.bin'}")


if __name__ == "__main__":
    main()
