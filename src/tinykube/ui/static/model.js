// Pure functions over API objects: what a status means (and its colour), how workloads own
// their children, and the patch `kubectl rollout undo` sends.

export const REVISION = "deployment.kubernetes.io/revision";

const ownerUid = (obj) => ((obj.metadata.ownerReferences || []).find((o) => o.controller) || {}).uid;
export const ownedBy = (items, owner) => items.filter((o) => ownerUid(o) === owner.metadata.uid);
export const revisionOf = (rs) => Number((rs.metadata.annotations || {})[REVISION] || 0);
const ordinalOf = (pod) => Number(pod.metadata.name.slice(pod.metadata.name.lastIndexOf("-") + 1));
const byCreation = (a, b) => (a.metadata.creationTimestamp || "").localeCompare(b.metadata.creationTimestamp || "");

/** The pod's STATUS as `kubectl get pods` shows it, and a colour class: ok, wait, bad, done, gone. */
export function podStatus(pod) {
  if (pod.metadata.deletionTimestamp) return { text: "Terminating", tone: "gone" };
  const phase = pod.status?.phase || "Pending";
  let reason = pod.status?.reason || phase;
  const statuses = pod.status?.containerStatuses || [];
  for (const cs of statuses) {
    if (cs.state?.waiting?.reason) reason = cs.state.waiting.reason;
    else if (cs.state?.terminated?.reason && phase !== "Succeeded") reason = cs.state.terminated.reason;
  }
  const ready = statuses.length > 0 && statuses.every((cs) => cs.ready);
  if (phase === "Succeeded") return { text: reason === phase ? "Completed" : reason, tone: "done" };
  if (phase === "Failed" || /BackOff|Err|Error|OOMKilled|Invalid/.test(reason)) return { text: reason, tone: "bad" };
  if (phase === "Running" && ready) return { text: "Running", tone: "ok" };
  return { text: reason === "Running" ? "Running (not ready)" : reason, tone: "wait" };
}

export function readyCount(pod) {
  const statuses = pod.status?.containerStatuses || [];
  return `${statuses.filter((c) => c.ready).length}/${(pod.spec?.containers || []).length}`;
}

/** Colour and words for a Deployment: rolled out, rolling, paused, or stuck. */
export function deploymentStatus(d) {
  const want = d.spec.replicas ?? 1;
  const s = d.status || {};
  const progressing = (s.conditions || []).find((c) => c.type === "Progressing");
  if (d.spec.paused) return { text: "Paused", tone: "wait" };
  if (progressing && progressing.status === "False") return { text: progressing.reason, tone: "bad" };
  const done = (s.updatedReplicas || 0) === want && (s.availableReplicas || 0) === want &&
               (s.replicas || 0) === want && (s.observedGeneration || 0) >= d.metadata.generation;
  return done ? { text: "Rolled out", tone: "ok" } : { text: "Rolling out", tone: "wait" };
}

export function replicasTone(ready, want) {
  return ready === want ? "ok" : "wait";
}

export function jobStatus(job) {
  const conditions = job.status?.conditions || [];
  if (conditions.some((c) => c.type === "Complete" && c.status === "True")) return { text: "Complete", tone: "done" };
  if (conditions.some((c) => c.type === "Failed" && c.status === "True")) return { text: "Failed", tone: "bad" };
  if (job.spec?.suspend) return { text: "Suspended", tone: "wait" };
  return { text: "Running", tone: "wait" };
}

/**
 * The namespace's workloads as trees: {kind, obj, children: [...]} where a child is
 * {kind, obj, children}. Pods and ReplicaSets that no listed workload owns come last.
 */
export function workloadTrees(store, namespace) {
  const pods = store.list("pods", namespace);
  const rss = store.list("replicasets", namespace);
  const jobs = store.list("jobs", namespace);
  const pvcs = store.list("persistentvolumeclaims", namespace);
  const leaf = (kind) => (obj) => ({ kind, obj, children: [] });
  const podsOf = (owner) => ownedBy(pods, owner).sort(byCreation).map(leaf("Pod"));
  const claimed = new Set();
  const trees = [];
  for (const d of store.list("deployments", namespace).sort(byName)) {
    const children = ownedBy(rss, d).sort((a, b) => revisionOf(b) - revisionOf(a))
      .map((rs) => { claimed.add(rs.metadata.uid); return { kind: "ReplicaSet", obj: rs, children: podsOf(rs) }; });
    trees.push({ kind: "Deployment", obj: d, children });
  }
  for (const sts of store.list("statefulsets", namespace).sort(byName)) {
    const children = ownedBy(pods, sts).sort((a, b) => ordinalOf(a) - ordinalOf(b)).map((pod) => {
      const ordinal = ordinalOf(pod);
      const claims = (sts.spec.volumeClaimTemplates || []).map((t) => `${t.metadata.name}-${sts.metadata.name}-${ordinal}`);
      return { kind: "Pod", obj: pod, children: pvcs.filter((c) => claims.includes(c.metadata.name)).map(leaf("PersistentVolumeClaim")) };
    });
    trees.push({ kind: "StatefulSet", obj: sts, children });
  }
  for (const ds of store.list("daemonsets", namespace).sort(byName)) {
    const children = ownedBy(pods, ds).sort((a, b) => (a.spec.nodeName || "").localeCompare(b.spec.nodeName || ""))
      .map(leaf("Pod"));
    trees.push({ kind: "DaemonSet", obj: ds, children });
  }
  for (const cj of store.list("cronjobs", namespace).sort(byName)) {
    const children = ownedBy(jobs, cj).sort(byCreation).reverse().map((job) => {
      claimed.add(job.metadata.uid);
      return { kind: "Job", obj: job, children: podsOf(job) };
    });
    trees.push({ kind: "CronJob", obj: cj, children });
  }
  for (const job of jobs.filter((j) => !claimed.has(j.metadata.uid)).sort(byName)) {
    trees.push({ kind: "Job", obj: job, children: podsOf(job) });
  }
  for (const rs of rss.filter((r) => !claimed.has(r.metadata.uid) && !ownerUid(r)).sort(byName)) {
    trees.push({ kind: "ReplicaSet", obj: rs, children: podsOf(rs) });
  }
  const owners = new Set([...store.list("replicasets", namespace), ...store.list("statefulsets", namespace),
    ...store.list("daemonsets", namespace), ...jobs].map((o) => o.metadata.uid));
  const bare = pods.filter((p) => !owners.has(ownerUid(p))).sort(byName);
  if (bare.length) trees.push({ kind: "Pods", obj: null, children: bare.map(leaf("Pod")) });
  return trees;
}

function byName(a, b) {
  return a.metadata.name.localeCompare(b.metadata.name);
}

// Annotations `kubectl rollout undo` keeps from the deployment rather than copying from the RS.
const UNDO_SKIPPED = new Set(["kubectl.kubernetes.io/last-applied-configuration", REVISION,
  "deployment.kubernetes.io/revision-history", "deployment.kubernetes.io/desired-replicas",
  "deployment.kubernetes.io/max-replicas", "deprecated.deployment.rollback.to"]);

/**
 * The JSON patch `kubectl rollout undo` sends: the deployment's template replaced by the
 * previous revision's (without its pod-template-hash label), its annotations copied along.
 * Throws an Error with kubectl's words when there is nothing to roll back to.
 */
export function undoPatch(deployment, replicaSets) {
  if (deployment.spec.paused) {
    throw new Error("you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again");
  }
  const history = replicaSets.sort((a, b) => revisionOf(b) - revisionOf(a));
  const current = Number((deployment.metadata.annotations || {})[REVISION] || 0);
  const previous = history.find((rs) => revisionOf(rs) > 0 && revisionOf(rs) < current);
  if (!previous) throw new Error(`no rollout history found for deployment "${deployment.metadata.name}"`);
  const template = structuredClone(previous.spec.template);
  if (template.metadata?.labels) delete template.metadata.labels["pod-template-hash"];
  if (equalTemplates(template, deployment.spec.template)) {
    throw new Error(`skipped rollback (current template already matches revision ${revisionOf(previous)})`);
  }
  const annotations = { ...(deployment.metadata.annotations || {}) };
  for (const [k, v] of Object.entries(previous.metadata.annotations || {})) {
    if (!UNDO_SKIPPED.has(k)) annotations[k] = v;
  }
  return [{ op: "replace", path: "/spec/template", value: template },
          { op: "replace", path: "/metadata/annotations", value: annotations }];
}

function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]));
  }
  return value;
}

export function equalTemplates(a, b) {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

/** The timeline's series for one deployment: one per ReplicaSet revision, points [t, replicas]. */
export function rolloutSeries(history, deployment) {
  return [...history.values()].filter((h) => h.owner === deployment.metadata.uid)
    .sort((a, b) => a.revision - b.revision)
    .map((h) => ({ name: h.name, revision: h.revision, points: h.points }));
}

/** uPlot's aligned columns for the series: x = every sample time, each series held until it changes. */
export function alignedData(series, now) {
  const times = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])).concat(now ? [now] : []))].sort((a, b) => a - b);
  const columns = series.map((s) => times.map((t) => {
    let value = null;
    for (const [pt, v] of s.points) if (pt <= t) value = v;
    return value;
  }));
  return [times, ...columns];
}
