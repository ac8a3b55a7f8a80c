// The rollout timeline: replicas of each ReplicaSet revision over time, drawn as steps with
// uPlot, and the same points exposed as data (a table for screen readers, a data attribute).

import { html } from "./vendor/htm-preact.js";
import { useEffect, useRef } from "./vendor/preact-hooks.module.js";
import uPlot from "./vendor/uPlot.esm.js";
import { alignedData } from "./model.js";

const COLOURS = ["#7a869a", "#0b6bcb", "#c05600", "#2f8132", "#8e44ad", "#b0254f"];

function options(series, width) {
  return {
    width, height: 180,
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max + 1)] } },
    axes: [{}, { label: "replicas", size: 50, incrs: [1, 2, 5, 10, 20, 50] }],
    series: [{ label: "time" }, ...series.map((s, i) => ({
      label: `rev ${s.revision} (${s.name})`, stroke: COLOURS[(s.revision || i) % COLOURS.length], width: 2,
      paths: uPlot.paths.stepped({ align: 1 }), points: { show: true, size: 5 },
    }))],
  };
}

export function Timeline({ series, id }) {
  const holder = useRef(null);
  const plot = useRef(null);
  const shape = series.map((s) => s.name).join(",");
  useEffect(() => {
    const width = Math.max(300, holder.current.clientWidth || 600);
    plot.current = new uPlot(options(series, width), alignedData(series), holder.current);
    return () => plot.current.destroy();
  }, [shape]);
  useEffect(() => { plot.current?.setData(alignedData(series)); });
  const points = JSON.stringify(series.map((s) => ({ name: s.name, revision: s.revision, points: s.points })));
  return html`
    <figure class="timeline" data-points=${points} aria-labelledby=${id}>
      <figcaption id=${id}>Rollout timeline: desired replicas of each ReplicaSet revision</figcaption>
      <div ref=${holder} class="plot" aria-hidden="true"></div>
      <details>
        <summary>Timeline as a table</summary>
        <table>
          <thead><tr><th scope="col">Revision</th><th scope="col">ReplicaSet</th><th scope="col">Time</th><th scope="col">Replicas</th></tr></thead>
          <tbody>${series.flatMap((s) => s.points.map(([t, v]) => html`
            <tr><td>${s.revision}</td><td>${s.name}</td><td>${new Date(t * 1000).toLocaleTimeString()}</td><td>${v}</td></tr>`))}
          </tbody>
        </table>
      </details>
    </figure>`;
}
