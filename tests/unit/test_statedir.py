"""The process runtime's state directory: in memory when a tmpfs is at hand, else under the root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tinykube.kubelet import statedir


def mounts_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "mounts"
    path.write_text("".join(line + "\n" for line in lines))
    return path


@pytest.mark.parametrize("lines, expected", [
    (["tmpfs {fs} tmpfs rw,nosuid,nodev 0 0"], True),
    (["/dev/vda {fs} ext4 rw,relatime 0 0"], False),
    (["tmpfs /elsewhere tmpfs rw 0 0"], False),
    (["broken line"], False),
    ([], False),
])
def test_is_tmpfs_reads_the_mount_table(tmp_path: Path, lines: list[str], expected: bool):
    fs = tmp_path / "shm"
    table = mounts_file(tmp_path, [line.format(fs=fs) for line in lines])
    assert statedir.is_tmpfs(fs, table) is expected


def test_a_memory_file_system_holds_one_private_directory_per_root(tmp_path: Path):
    fs = tmp_path / "shm"
    fs.mkdir()
    table = mounts_file(tmp_path, [f"tmpfs {fs} tmpfs rw 0 0"])
    first = statedir.state_root(tmp_path / "a" / "pods", fs, table)
    assert first.parent == fs and first.is_dir()
    assert first.stat().st_mode & 0o777 == 0o700
    assert statedir.state_root(tmp_path / "a" / "pods", fs, table) == first  # found again after a restart
    assert statedir.state_root(tmp_path / "a" / ".." / "a" / "pods", fs, table) == first
    assert statedir.state_root(tmp_path / "b" / "pods", fs, table) != first


@pytest.mark.parametrize("planted", ["symlink", "open directory", "file"])
def test_a_name_planted_in_the_memory_file_system_is_not_used(tmp_path: Path, planted: str):
    fs = tmp_path / "shm"
    fs.mkdir()
    table = mounts_file(tmp_path, [f"tmpfs {fs} tmpfs rw 0 0"])
    root = tmp_path / "data" / "pods"
    expected = statedir.state_root(root, fs, table)
    os.rmdir(expected)
    if planted == "symlink":
        (tmp_path / "theirs").mkdir(mode=0o700)
        expected.symlink_to(tmp_path / "theirs")
    elif planted == "open directory":
        expected.mkdir()
        expected.chmod(0o777)
    else:
        expected.write_text("")
    chosen = statedir.state_root(root, fs, table)
    assert chosen == root / statedir.FALLBACK and chosen.is_dir()


def test_without_a_memory_file_system_the_state_stays_under_the_root(tmp_path: Path):
    table = mounts_file(tmp_path, ["/dev/vda / ext4 rw 0 0"])
    root = tmp_path / "pods"
    assert statedir.state_root(root, tmp_path / "shm", table) == root / statedir.FALLBACK
