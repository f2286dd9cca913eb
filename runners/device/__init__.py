"""The GPU machine's one prepared check (`runners/device_check`): stages, training, report."""
