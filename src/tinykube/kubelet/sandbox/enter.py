"""Start one container inside its pod's sandbox (what runc does for a container upstream).

Run by the fork server (`forkserver.py`) in a forked child of its own session, with the plan
as plain arguments (see `parse_plan`). The fork server forks it into the sandbox's PID
namespace already (a PID namespace is joined at birth only); here it moves into its cgroups,
joins the sandbox process's network, UTS, IPC and mount namespaces (setns), takes a mount
namespace of its own (so this container's volume mounts are not its siblings'), bind-mounts
the plan's volumes at their mount paths, and then becomes the command (exec): the fork server
is the container's parent and reports its own exit status.

A failure before the exec is written to the error fd as "<errno> <filename>" (the runtime
turns it into the StartError runc would report); a successful exec closes the fd silently.
With error fd "-" failures go to stderr. A plan with `"join": true` (exec probes, hooks, a
`kubectl exec`) names a running container's process as `sandbox_pid` and enters all of its
namespaces, its mount namespace included, instead of making one.

Stdlib only: the fork server imports it as a sibling script.
"""

import ctypes
import os
import signal
import sys

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 32, 4096, 16384, 1 << 18
NAMESPACES = ("net", "uts", "ipc", "mnt")  # mnt last: after it, /proc is the pod's (pid: at the fork)
DEFAULT_IN_COMMAND = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2,
                      signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD)

libc = ctypes.CDLL(None, use_errno=True)  # made (and its functions looked up) before the fork server forks
for _function in ("setns", "unshare", "mount"):
    getattr(libc, _function)


def parse_plan(args: list) -> dict:
    """The plan from `error-fd sandbox-pid join cwd N cgroup-procs... M (source target ro)... argv...`
    (error fd "-": none; join and ro "1" or "0"): every value a whole argument, so any text goes."""
    error_fd, sandbox_pid, join, cwd = args[0], int(args[1]), args[2] == "1", args[3]
    count = int(args[4])
    cgroups, at = args[5:5 + count], 5 + count
    mounts = []
    for _ in range(int(args[at])):
        source, target, read_only = args[at + 1:at + 4]
        mounts.append({"source": source, "target": target, "readOnly": read_only == "1"})
        at += 3
    return {"error_fd": -1 if error_fd == "-" else int(error_fd), "sandbox_pid": sandbox_pid, "join": join,
            "cwd": cwd, "cgroups": cgroups, "mounts": mounts, "argv": args[at + 1:]}


def _check(result: int, what: str, filename: str = "") -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}", filename)


def join_namespaces(pid: int) -> None:
    fds = [os.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY) for ns in NAMESPACES]
    for fd, ns in zip(fds, NAMESPACES):
        _check(libc.setns(fd, 0), f"setns {ns}")
        os.close(fd)


def mount_volumes(mounts: list) -> None:
    _check(libc.unshare(CLONE_NEWNS), "unshare mount namespace")
    _check(libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    for m in mounts:
        source, target = m["source"], m["target"]
        if not os.path.exists(target):
            if os.path.isdir(source):
                os.makedirs(target, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(target) or "/", exist_ok=True)
                open(target, "a").close()
        _check(libc.mount(source.encode(), target.encode(), None, MS_BIND | MS_REC, None), "bind mount", target)
        if m.get("readOnly"):
            _check(libc.mount(None, target.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY, None),
                   "read-only remount", target)


def join_cgroups(procs: list) -> None:
    """Move this process into the container's cgroups (before the exec: what it starts is counted)."""
    for path in procs:
        try:
            with open(path, "w") as f:
                f.write("0")
        except OSError:  # a container runs without its limits rather than not at all
            pass


def become_command(plan: dict, env: dict) -> None:
    """Signals Python ignores back at their defaults, the working directory, then exec."""
    for sig in DEFAULT_IN_COMMAND:
        signal.signal(sig, signal.SIG_DFL)
    argv = plan["argv"]
    os.chdir(plan.get("cwd") or "/")
    os.execvpe(argv[0], argv, env)


def report(error_fd: int, exc: OSError, filename: str) -> None:
    message = f"{exc.errno or 1} {filename}\n{exc.strerror or exc}"
    if error_fd < 0:
        sys.stderr.write(f"tinykube: {exc.strerror or exc} {filename}\n")
    else:
        os.write(error_fd, message.encode())


def run(args: list, env: dict) -> int:
    """Enter the sandbox the plan in `args` names and become its command there (a failure: the
    exit code of this process)."""
    plan = parse_plan(args)
    error_fd = plan["error_fd"]
    if error_fd >= 0:
        os.set_inheritable(error_fd, False)  # closed by the exec: what says it succeeded
    try:
        join_cgroups(plan.get("cgroups") or [])
        join_namespaces(int(plan["sandbox_pid"]))
        if not plan.get("join"):
            mount_volumes(plan.get("mounts") or [])
        cwd = plan.get("cwd") or "/"
        if not os.path.isdir(cwd):
            raise FileNotFoundError(2, "no such directory", cwd)
    except OSError as exc:
        report(error_fd, exc, exc.filename or "")
        return 1
    try:
        become_command(plan, env)
    except OSError as exc:  # the command itself: no filename (runc's "executable file not found")
        report(error_fd, exc, "")
    return 127
