// Workload trees (Deployment → ReplicaSets by revision → Pods, StatefulSet → ordinal Pods →
// PVCs, DaemonSet → a Pod per node, CronJob → Jobs → Pods) and the actions on them.

import { html } from "./vendor/htm-preact.js";
import { useState } from "./vendor/preact-hooks.module.js";
import { request } from "./api.js";
import { deploymentStatus, jobStatus, ownedBy, podStatus, readyCount, replicasTone, revisionOf,
         rolloutSeries, undoPatch, workloadTrees } from "./model.js";
import { Timeline } from "./timeline.js";

const MERGE = "application/merge-patch+json";
const JSON_PATCH = "application/json-patch+json";
const apps = (ns, plural, name) => `/apis/apps/v1/namespaces/${ns}/${plural}/${name}`;

function Badge({ status }) {
  return html`<span class=${`badge ${status.tone}`}>${status.text}</span>`;
}

function summary(kind, obj) {
  const s = obj.status || {};
  if (kind === "Deployment") {
    return html`<${Badge} status=${deploymentStatus(obj)} /> ${s.readyReplicas || 0}/${obj.spec.replicas ?? 1} ready, ${s.updatedReplicas || 0} up-to-date`;
  }
  if (kind === "ReplicaSet") {
    const want = obj.spec.replicas ?? 1;
    return html`<span class="rev">revision ${revisionOf(obj)}</span>
      <${Badge} status=${{ text: `${s.readyReplicas || 0}/${want} ready`, tone: want === 0 ? "done" : replicasTone(s.readyReplicas || 0, want) }} />
      <span class="image">${obj.spec.template.spec.containers.map((c) => c.image).join(", ")}</span>`;
  }
  if (kind === "StatefulSet") {
    const want = obj.spec.replicas ?? 1;
    return html`<${Badge} status=${{ text: `${s.readyReplicas || 0}/${want} ready`, tone: replicasTone(s.readyReplicas || 0, want) }} />`;
  }
  if (kind === "DaemonSet") {
    return html`<${Badge} status=${{ text: `${s.numberReady || 0}/${s.desiredNumberScheduled || 0} ready`,
                                   tone: replicasTone(s.numberReady || 0, s.desiredNumberScheduled || 0) }} />`;
  }
  if (kind === "CronJob") {
    return html`<code>${obj.spec.schedule}</code> ${obj.spec.suspend ? html`<${Badge} status=${{ text: "Suspended", tone: "wait" }} />` : ""}
      ${s.lastScheduleTime ? `last scheduled ${s.lastScheduleTime}` : "not scheduled yet"}`;
  }
  if (kind === "Job") {
    return html`<${Badge} status=${jobStatus(obj)} /> ${s.succeeded || 0}/${obj.spec.completions ?? 1} succeeded`;
  }
  if (kind === "PersistentVolumeClaim") {
    const phase = s.phase || "Pending";
    return html`<${Badge} status=${{ text: phase, tone: phase === "Bound" ? "ok" : "wait" }} /> ${obj.spec.volumeName || ""}`;
  }
  return "";
}

function PodRow({ pod, onLogs, onError }) {
  const status = podStatus(pod);
  const remove = () => request("DELETE", `/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}`)
    .then(() => onError(null), (e) => onError(e.message));
  return html`
    <span class="kind">Pod</span> <span class="name">${pod.metadata.name}</span>
    <${Badge} status=${status} /> <span class="ready">${readyCount(pod)}</span>
    <span class="node">${pod.spec.nodeName ? `on ${pod.spec.nodeName}` : "unscheduled"}</span>
    <span class="actions">
      <button type="button" class="small" onClick=${() => onLogs(pod)} aria-label=${`Logs of pod ${pod.metadata.name}`}>Logs</button>
      <button type="button" class="small danger" onClick=${remove} aria-label=${`Delete pod ${pod.metadata.name}`}>Delete</button>
    </span>`;
}

function TreeItem({ node, onLogs, onError }) {
  const { kind, obj, children } = node;
  const label = kind === "Pod"
    ? html`<${PodRow} pod=${obj} onLogs=${onLogs} onError=${onError} />`
    : html`<span class="kind">${kind}</span> <span class="name">${obj.metadata.name}</span> ${summary(kind, obj)}`;
  return html`
    <li data-kind=${kind} data-name=${obj.metadata.name}>
      ${label}
      ${children.length > 0 && html`<ul>${children.map((c) => html`<${TreeItem} key=${c.obj.metadata.uid} node=${c} onLogs=${onLogs} onError=${onError} />`)}</ul>`}
    </li>`;
}

function DeploymentActions({ store, deployment, onError }) {
  const ns = deployment.metadata.namespace;
  const name = deployment.metadata.name;
  const id = `${ns}-${name}`;
  const containers = deployment.spec.template.spec.containers;
  const [replicas, setReplicas] = useState(String(deployment.spec.replicas ?? 1));
  const [container, setContainer] = useState(containers[0].name);
  const [image, setImage] = useState("");
  const act = (promise) => promise.then(() => onError(null), (e) => onError(e.message));
  const scale = (e) => {
    e.preventDefault();
    act(request("PATCH", `${apps(ns, "deployments", name)}/scale`, { spec: { replicas: Number(replicas) } }, MERGE));
  };
  const setImageOf = (e) => {
    e.preventDefault();
    const index = containers.findIndex((c) => c.name === container);
    act(request("PATCH", apps(ns, "deployments", name),
      [{ op: "replace", path: `/spec/template/spec/containers/${index}/image`, value: image }], JSON_PATCH));
  };
  const undo = () => act((async () => {
    const patch = undoPatch(deployment, ownedBy(store.list("replicasets", ns), deployment));
    await request("PATCH", apps(ns, "deployments", name), patch, JSON_PATCH);
  })());
  const pause = (paused) => act(request("PATCH", apps(ns, "deployments", name), { spec: { paused } }, MERGE));
  return html`
    <div class="actions-bar">
      <form onSubmit=${scale} class="inline">
        <label for=${`replicas-${id}`}>Replicas</label>
        <input id=${`replicas-${id}`} class="replicas" type="number" value=${replicas}
               onInput=${(e) => setReplicas(e.target.value)} />
        <button type="submit" class="scale">Scale</button>
      </form>
      <form onSubmit=${setImageOf} class="inline">
        <label for=${`container-${id}`}>Container</label>
        <select id=${`container-${id}`} value=${container} onChange=${(e) => setContainer(e.target.value)}>
          ${containers.map((c) => html`<option value=${c.name}>${c.name}</option>`)}
        </select>
        <label for=${`image-${id}`}>Image</label>
        <input id=${`image-${id}`} class="image-input" required value=${image} placeholder=${containers[0].image}
               onInput=${(e) => setImage(e.target.value)} />
        <button type="submit" class="set-image">Set image</button>
      </form>
      <button type="button" class="undo" onClick=${undo}>Undo rollout</button>
      ${deployment.spec.paused
        ? html`<button type="button" class="resume" onClick=${() => pause(false)}>Resume rollout</button>`
        : html`<button type="button" class="pause" onClick=${() => pause(true)}>Pause rollout</button>`}
    </div>`;
}

function WorkloadCard({ store, tree, onLogs }) {
  const [error, setError] = useState(null);
  const { kind, obj } = tree;
  const title = obj ? `${kind} ${obj.metadata.name}` : "Pods without a controller";
  const key = obj ? `${kind}/${obj.metadata.namespace}/${obj.metadata.name}` : "Pods";
  const headingId = `h-${key.replace(/[^a-zA-Z0-9-]/g, "-")}`;
  return html`
    <section class="card" data-workload=${key} aria-labelledby=${headingId}>
      <h2 id=${headingId}>${title} ${obj ? html`<small>${summary(kind, obj)}</small>` : ""}</h2>
      ${kind === "Deployment" && html`<${DeploymentActions} store=${store} deployment=${obj} onError=${setError} />`}
      ${error && html`<p class="error" role="alert">${error}</p>`}
      <ul class="tree">${tree.children.map((c) => html`<${TreeItem} key=${c.obj.metadata.uid} node=${c} onLogs=${onLogs} onError=${setError} />`)}</ul>
      ${kind === "Deployment" && html`<${Timeline} id=${`${headingId}-timeline`} series=${rolloutSeries(store.replicaHistory, obj)} />`}
    </section>`;
}

export function Workloads({ store, namespace, onLogs }) {
  const trees = workloadTrees(store, namespace);
  if (!trees.length) return html`<p class="help">No workloads in ${namespace || "any namespace"} yet.</p>`;
  return html`${trees.map((t) => html`<${WorkloadCard} key=${t.obj ? t.obj.metadata.uid : "bare"} store=${store} tree=${t} onLogs=${onLogs} />`)}`;
}
