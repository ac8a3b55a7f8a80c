"""Where the process runtime keeps what a pod needs only while the machine runs.

Pid files, the sandbox's state, the pod's /etc/hosts and /etc/resolv.conf, and the files of its
configMap, secret, downwardAPI and projected volumes live in a directory on a memory file
system (/dev/shm), one per runtime root; container logs and emptyDirs stay under the data dir.
Upstream splits its state the same way: containerd keeps sandbox state under /run, and the
kubelet writes secret and projected volumes to tmpfs. A sandboxed pod creates about twenty
files and directories before its first container runs; on a memory file system each takes
microseconds, on a busy disk's file system up to a millisecond of the agent's CPU.

The directory's name follows from the runtime root, so an agent started again on the same data
dir finds what the one before it left (and kills what still runs). Where no memory file system
is at hand (not Linux, or /dev/shm not ours to write), the state stays under the root itself.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

MEMORY_FS = Path("/dev/shm")
FALLBACK = "_state"  # under the runtime root, when no memory file system is at hand


def state_root(root: Path, memory_fs: Path = MEMORY_FS, mounts: Path = Path("/proc/self/mounts")) -> Path:
    """The runtime's state directory for `root` (made, mode 0700, owned by this user)."""
    if is_tmpfs(memory_fs, mounts):
        key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:16]
        candidate = memory_fs / f"tinykube-{os.geteuid()}-{key}"
        if _own_directory(candidate):
            return candidate
    fallback = root / FALLBACK
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def is_tmpfs(path: Path, mounts: Path) -> bool:
    """Whether `path` is the mount point of a tmpfs (in the given /proc/self/mounts)."""
    try:
        lines = mounts.read_text().splitlines()
    except OSError:
        return False
    return any(fields[1] == str(path) and fields[2] == "tmpfs" for fields in (line.split() for line in lines)
               if len(fields) >= 3)


def _own_directory(path: Path) -> bool:
    """Make `path` (0700) unless it exists; True when it is a real directory of this user (in a
    world-writable place, a name another user made first is not to be trusted)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return False
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and not info.st_mode & 0o077
