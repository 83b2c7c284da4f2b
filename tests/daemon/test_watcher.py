"""The observers: native events and polling both queue a new acquisition's path, and
folders on network shares are polled (native events miss other machines' writes there)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fentid.daemon.watcher import (
    EventQueue,
    filesystem_type,
    is_network_share,
    start_observers,
    stop_observers,
)

MOUNTS = """\
/dev/vda1 / ext4 rw,relatime 0 0
//lims-server/instruments /mnt/gcms cifs rw,vers=3.0 0 0
nas:/export/nmr /mnt/nmr nfs4 rw,relatime 0 0
/dev/vdb1 /mnt/gcms/local\\040copy ext4 rw 0 0
"""


@pytest.mark.parametrize("poll, how", [(0.2, "polling every 0.2 s"), (None, "native events")])
def test_a_new_file_reaches_the_queue(tmp_path, poll, how):
    queue, log = EventQueue(), []
    observers = start_observers([tmp_path], queue, poll, log=log.append)
    try:
        assert log == [f"watching {tmp_path} ({how})"]
        target = tmp_path / "run1.D" / "data.ms"
        target.parent.mkdir()
        target.write_bytes(b"\0" * 1024)
        seen: set[str] = set()
        for _ in range(50):  # up to 10 s
            if queue.wake.wait(0.2):
                seen.update(queue.drain())
            if str(target) in seen:
                break
        assert str(target) in seen
    finally:
        stop_observers(observers)


def test_network_mounts_are_recognised_by_the_innermost_mount():
    assert filesystem_type(Path("/mnt/gcms/run1.D"), MOUNTS) == "cifs"
    assert filesystem_type(Path("/mnt/nmr/exp/10"), MOUNTS) == "nfs4"
    assert filesystem_type(Path("/mnt/gcms/local copy/x"), MOUNTS) == "ext4"
    assert filesystem_type(Path("/home/lab"), MOUNTS) == "ext4"
    assert is_network_share(Path("/mnt/gcms/run1.D"), MOUNTS)
    assert is_network_share(Path("/mnt/nmr"), MOUNTS)
    assert not is_network_share(Path("/mnt/gcms/local copy"), MOUNTS)
    assert not is_network_share(Path("/home/lab"), MOUNTS)
