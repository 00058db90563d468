"""Reads a TensorBoard folder with TensorBoard's own reader (the `tensorboard` package's
EventAccumulator, which checks every record's CRC and drops what a restart supersedes) and prints,
as JSON, each run's scalars, hyperparameters, group and end status, by the run's folder relative
to the given one. Non-finite values are the strings "NaN", "inf" and "-inf".

Used by crates/cli/tests/tensorboard.rs: python read_tensorboard.py LOGDIR
"""

import json
import math
import os
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.hparams import metadata, plugin_data_pb2


def number(value):
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def read_run(folder):
    accumulator = event_accumulator.EventAccumulator(
        folder, size_guidance={event_accumulator.SCALARS: 0}
    )
    accumulator.Reload()
    scalars = {
        tag: [[event.step, number(event.value)] for event in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }
    run = {"scalars": scalars, "hparams": {}, "group": None, "status": None}
    for tag, content in accumulator.PluginTagToContent(metadata.PLUGIN_NAME).items():
        data = plugin_data_pb2.HParamsPluginData.FromString(content)
        if tag == metadata.SESSION_START_INFO_TAG:
            start = data.session_start_info
            run["group"] = start.group_name
            for name, value in start.hparams.items():
                kind = value.WhichOneof("kind")
                run["hparams"][name] = getattr(value, kind)
        elif tag == metadata.SESSION_END_INFO_TAG:
            run["status"] = data.session_end_info.status
    return run


def main(logdir):
    runs = {}
    for folder, _, files in sorted(os.walk(logdir)):
        if any("tfevents" in name for name in files):
            runs[os.path.relpath(folder, logdir)] = read_run(folder)
    json.dump(runs, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
