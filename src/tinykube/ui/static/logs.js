// A pod's logs, followed as `kubectl logs -f` does: one streamed pods/log request, stopped
// when the panel closes or another container is chosen.

import { html } from "./vendor/htm-preact.js";
import { useEffect, useRef, useState } from "./vendor/preact-hooks.module.js";
import { streamLines } from "./api.js";

const MAX_LINES = 2000;

export function Logs({ pod, onClose }) {
  const containers = pod.spec.containers.map((c) => c.name);
  const [container, setContainer] = useState(containers[0]);
  const [follow, setFollow] = useState(true);
  const [lines, setLines] = useState([]);
  const [error, setError] = useState(null);
  const panel = useRef(null);
  const ns = pod.metadata.namespace;
  const name = pod.metadata.name;
  useEffect(() => {
    const abort = new AbortController();
    setLines([]);
    setError(null);
    const buffered = [];
    let scheduled = false;
    const flush = () => { scheduled = false; setLines(buffered.slice(-MAX_LINES)); };
    const query = `container=${encodeURIComponent(container)}&tailLines=500${follow ? "&follow=true" : ""}`;
    streamLines(`/api/v1/namespaces/${ns}/pods/${name}/log?${query}`, (line) => {
      buffered.push(line);
      if (!scheduled) { scheduled = true; requestAnimationFrame(flush); }
    }, abort.signal).catch((e) => { if (!abort.signal.aborted) setError(e.message); });
    return () => abort.abort();
  }, [ns, name, container, follow]);
  useEffect(() => { panel.current?.focus(); }, [name]);
  return html`
    <aside class="logs" aria-labelledby="logs-title" ref=${panel} tabindex="-1"
           onKeyDown=${(e) => e.key === "Escape" && onClose()}>
      <header>
        <h2 id="logs-title">Logs of ${ns}/${name}</h2>
        <label>Container
          <select value=${container} onChange=${(e) => setContainer(e.target.value)}>
            ${containers.map((c) => html`<option value=${c}>${c}</option>`)}
          </select>
        </label>
        <label><input type="checkbox" checked=${follow} onChange=${(e) => setFollow(e.target.checked)} /> Follow</label>
        <button type="button" onClick=${onClose}>Close</button>
      </header>
      ${error && html`<p class="error" role="alert">${error}</p>`}
      ${!error && lines.length === 0 && html`<p class="help empty">No log lines yet${follow ? ": following" : ""}.</p>`}
      <pre class="log-lines" aria-live="polite">${lines.join("\n")}</pre>
    </aside>`;
}
