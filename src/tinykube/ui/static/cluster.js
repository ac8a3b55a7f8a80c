// Cluster views: the nodes with the pods bound to them, and the event stream.

import { html } from "./vendor/htm-preact.js";
import { podStatus } from "./model.js";

function nodeReady(node) {
  const ready = (node.status?.conditions || []).find((c) => c.type === "Ready");
  if (!ready) return { text: "Unknown", tone: "wait" };
  const text = ready.status === "True" ? "Ready" : "NotReady";
  return { text: node.spec.unschedulable ? `${text},SchedulingDisabled` : text, tone: ready.status === "True" ? "ok" : "bad" };
}

export function Nodes({ store, namespace }) {
  const pods = store.list("pods", namespace);
  const nodes = store.list("nodes").sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  return html`${nodes.map((node) => {
    const status = nodeReady(node);
    const mine = pods.filter((p) => p.spec.nodeName === node.metadata.name)
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const id = `node-${node.metadata.name}`;
    return html`
      <section class="card" data-node=${node.metadata.name} aria-labelledby=${id}>
        <h2 id=${id}>Node ${node.metadata.name}
          <small><span class=${`badge ${status.tone}`}>${status.text}</span>
            ${node.status?.capacity ? ` cpu ${node.status.capacity.cpu}, memory ${node.status.capacity.memory}` : ""}
            ${node.spec.podCIDR ? `, pods ${node.spec.podCIDR}` : ""}</small></h2>
        ${mine.length === 0 ? html`<p class="help">No pods${namespace ? ` from ${namespace}` : ""}.</p>` : html`
          <ul class="tree">${mine.map((p) => {
            const s = podStatus(p);
            return html`<li data-kind="Pod" data-name=${p.metadata.name}>
              <span class="kind">Pod</span> <span class="name">${namespace ? "" : `${p.metadata.namespace}/`}${p.metadata.name}</span>
              <span class=${`badge ${s.tone}`}>${s.text}</span></li>`;
          })}</ul>`}
      </section>`;
  })}`;
}

const MAX_EVENTS = 300;

export function Events({ store, namespace }) {
  const when = (e) => e.lastTimestamp || e.eventTime || e.metadata.creationTimestamp || "";
  const events = store.list("events", namespace).sort((a, b) => when(b).localeCompare(when(a))).slice(0, MAX_EVENTS);
  if (!events.length) return html`<p class="help">No events${namespace ? ` in ${namespace}` : ""}.</p>`;
  return html`
    <table class="events">
      <caption>Events, newest first${namespace ? ` in ${namespace}` : ""}</caption>
      <thead><tr><th scope="col">Last seen</th><th scope="col">Type</th><th scope="col">Reason</th>
        <th scope="col">Object</th><th scope="col">Count</th><th scope="col">Message</th></tr></thead>
      <tbody>${events.map((e) => html`
        <tr key=${e.metadata.uid} class=${e.type === "Warning" ? "warning" : ""}>
          <td><time datetime=${when(e)}>${new Date(when(e)).toLocaleTimeString()}</time></td>
          <td>${e.type}</td><td>${e.reason}</td>
          <td>${e.involvedObject?.kind?.toLowerCase()}/${e.involvedObject?.name}</td>
          <td>${e.count || 1}</td><td>${e.message}</td>
        </tr>`)}
      </tbody>
    </table>`;
}
