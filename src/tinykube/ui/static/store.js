// The page's cache of cluster objects, filled by one informer per resource (cluster-wide, so a
// namespace switch needs no new watches), and the replica history the rollout timeline plots.

import { inform } from "./api.js";

/** The resources the page follows: store key → list path. */
export const RESOURCES = {
  namespaces: "/api/v1/namespaces",
  nodes: "/api/v1/nodes",
  pods: "/api/v1/pods",
  events: "/api/v1/events",
  persistentvolumeclaims: "/api/v1/persistentvolumeclaims",
  deployments: "/apis/apps/v1/deployments",
  replicasets: "/apis/apps/v1/replicasets",
  statefulsets: "/apis/apps/v1/statefulsets",
  daemonsets: "/apis/apps/v1/daemonsets",
  jobs: "/apis/batch/v1/jobs",
  cronjobs: "/apis/batch/v1/cronjobs",
};

const REVISION = "deployment.kubernetes.io/revision";

/** Per ReplicaSet uid: {name, namespace, owner, revision, points: [[seconds, spec.replicas], ...]}. */
export function recordReplicas(history, rs, seconds) {
  const uid = rs.metadata.uid;
  const owner = (rs.metadata.ownerReferences || []).find((o) => o.controller);
  const entry = history.get(uid) || { name: rs.metadata.name, namespace: rs.metadata.namespace,
                                      owner: owner ? owner.uid : null, revision: 0, points: [] };
  entry.revision = Number((rs.metadata.annotations || {})[REVISION] || 0);
  const replicas = rs.spec.replicas ?? 1;
  const last = entry.points[entry.points.length - 1];
  if (!last || last[1] !== replicas) entry.points.push([seconds, replicas]);
  history.set(uid, entry);
}

export class Store {
  constructor() {
    this.objects = Object.fromEntries(Object.keys(RESOURCES).map((k) => [k, new Map()]));
    this.synced = new Set();
    this.replicaHistory = new Map();
    this.errors = new Map();
    this.listeners = new Set();
    this.version = 0;
    this.pending = false;
  }

  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  changed() {
    // Many events arrive in a burst: re-render once per animation frame, not per event.
    this.version += 1;
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      for (const listener of this.listeners) listener(this.version);
    });
  }

  list(kind, namespace) {
    const all = [...this.objects[kind].values()];
    return namespace ? all.filter((o) => o.metadata.namespace === namespace) : all;
  }

  apply(kind, type, obj) {
    const key = `${obj.metadata.namespace || ""}/${obj.metadata.name}`;
    if (type === "DELETED") this.objects[kind].delete(key);
    else this.objects[kind].set(key, obj);
    if (kind === "replicasets" && type !== "DELETED") recordReplicas(this.replicaHistory, obj, Date.now() / 1000);
    this.changed();
  }

  /** Starts every informer; onUnauthorized is called once when the API refuses the credentials. */
  start(onUnauthorized) {
    this.abort = new AbortController();
    let refused = false;
    for (const [kind, path] of Object.entries(RESOURCES)) {
      inform(path, {
        onReset: (items) => {
          const fresh = new Map();
          for (const obj of items) {
            fresh.set(`${obj.metadata.namespace || ""}/${obj.metadata.name}`, obj);
            if (kind === "replicasets") recordReplicas(this.replicaHistory, obj, Date.now() / 1000);
          }
          this.objects[kind] = fresh;
          this.synced.add(kind);
          this.errors.delete(kind);
          this.changed();
        },
        onEvent: (type, obj) => this.apply(kind, type, obj),
        onError: (error) => {
          this.errors.set(kind, error.message);
          if ((error.code === 401) && !refused) { refused = true; onUnauthorized(error); }
          this.changed();
        },
      }, this.abort.signal);
    }
  }

  stop() {
    if (this.abort) this.abort.abort();
  }
}
