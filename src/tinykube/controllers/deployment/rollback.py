"""How a rollback shows up in revisions: pure annotation arithmetic.

In apps/v1 `kubectl rollout undo` is client-side: kubectl copies an old ReplicaSet's template
back into the deployment. The controller then finds that old ReplicaSet running the current
template and makes it the newest revision, remembering the numbers it had before in
`deployment.kubernetes.io/revision-history` — which is why the seeds' history 1,2,3 becomes
1,3,4 after undoing to revision 2 (upstream SetNewReplicaSetAnnotations).
"""

from __future__ import annotations

from tinykube.controllers.deployment.util import (
    NOT_COPIED,
    REVISION,
    REVISION_HISTORY,
    Obj,
    annotation_int,
    replica_annotations,
)

# Upstream's kube-controller-manager default for --deployment-controller-revision-history-chars.
REVISION_HISTORY_CHARS = 2000


def next_revision(old: list[Obj]) -> int:
    """One more than the highest revision among the old ReplicaSets."""
    return max((annotation_int(rs, REVISION) or 0 for rs in old), default=0) + 1


def appended_history(history: str, previous: str, limit: int = REVISION_HISTORY_CHARS) -> str | None:
    """`previous` appended to a comma list, dropping the oldest entries to fit `limit` chars
    (None when even `previous` alone does not fit: the history is then left as it was)."""
    entries = [h for h in history.split(",") if h]
    if not entries:
        return previous
    total = len(history) + len(previous) + 1
    start = 0
    while total > limit and start < len(entries):
        total -= len(entries[start]) + 1
        start += 1
    if total > limit:
        return None
    return ",".join(entries[start:] + [previous])


def new_rs_annotations(d: Obj, rs_annotations: dict[str, str], revision: int, exists: bool,
                       limit: int = REVISION_HISTORY_CHARS) -> dict[str, str]:
    """The annotations a deployment's new ReplicaSet should carry.

    The deployment's own annotations (change-cause among them) are copied except bookkeeping;
    the revision only ever grows, and a set that re-enters as newest (a rollback) records the
    number it had; a set being created is also annotated with the sizes it is made for."""
    out = dict(rs_annotations)
    for key, value in ((d.get("metadata") or {}).get("annotations") or {}).items():
        if key not in NOT_COPIED:
            out[key] = value
    previous = rs_annotations.get(REVISION)
    try:
        current = int(previous) if previous is not None else 0
    except ValueError:
        return out  # an unparsable revision is left for a human to fix, as upstream does
    if current < revision:
        out[REVISION] = str(revision)
        if previous is not None:
            history = appended_history(rs_annotations.get(REVISION_HISTORY, ""), previous, limit)
            if history is not None:
                out[REVISION_HISTORY] = history
    if not exists:
        out.update(replica_annotations(d))
    return out

