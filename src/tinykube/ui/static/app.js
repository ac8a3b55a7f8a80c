// The tinykube web view: login, then live views of the cluster through the API's own
// list+watch, and the actions a learner uses, sent as the same API calls kubectl makes.

import { html, render } from "./vendor/htm-preact.js";
import { useEffect, useState } from "./vendor/preact-hooks.module.js";
import { ApiError, request, setToken } from "./api.js";
import { Store } from "./store.js";
import { Workloads } from "./workloads.js";
import { Nodes, Events } from "./cluster.js";
import { Logs } from "./logs.js";

const store = new Store();
window.tinykube = { store }; // for the browser tests and the curious: the page's live cache

async function probe() {
  try {
    await request("GET", "/api/v1/namespaces?limit=1");
    return null;
  } catch (error) {
    return error instanceof ApiError ? error : new ApiError(0, String(error));
  }
}

function Login({ onLogin, refusal }) {
  const [token, setValue] = useState("");
  const [error, setError] = useState(refusal);
  const submit = async (event) => {
    event.preventDefault();
    setToken(token.trim());
    const refused = await probe();
    if (refused) { setToken(null); setError(refused.message); } else onLogin();
  };
  return html`
    <main class="login">
      <h1>tinykube</h1>
      <form onSubmit=${submit} aria-describedby="login-help">
        <label for="token">Token</label>
        <input id="token" name="token" type="password" autocomplete="off" required value=${token}
               onInput=${(e) => setValue(e.target.value)} />
        <p id="login-help" class="help">The <code>token</code> of the user in the kubeconfig that
          <code>tinykube server</code> wrote, or open the one-time login link it printed.</p>
        <button type="submit">Log in</button>
        ${error && html`<p class="error" role="alert" id="login-error">${error}</p>`}
      </form>
    </main>`;
}

const TABS = [["workloads", "Workloads"], ["nodes", "Nodes"], ["events", "Events"]];

function Dashboard({ onLogout }) {
  const [, setVersion] = useState(0);
  const [namespace, setNamespace] = useState(localStorage.getItem("tinykube.namespace") || "default");
  const [tab, setTab] = useState("workloads");
  const [logsOf, setLogsOf] = useState(null);
  useEffect(() => store.subscribe(setVersion), []);
  const choose = (ns) => { setNamespace(ns); localStorage.setItem("tinykube.namespace", ns); };
  const namespaces = store.list("namespaces").map((n) => n.metadata.name).sort();
  const logout = async () => {
    setToken(null);
    await fetch("/ui/logout", { method: "POST", headers: { "X-Tinykube-UI": "1" } });
    onLogout();
  };
  const errors = [...store.errors.entries()];
  return html`
    <header class="top">
      <h1>tinykube</h1>
      <label>Namespace
        <select id="namespace" value=${namespace} onChange=${(e) => choose(e.target.value)}>
          <option value="">All namespaces</option>
          ${namespaces.map((n) => html`<option value=${n}>${n}</option>`)}
          ${namespace && !namespaces.includes(namespace) && html`<option value=${namespace}>${namespace}</option>`}
        </select>
      </label>
      <nav aria-label="Views">
        ${TABS.map(([key, label]) => html`
          <button type="button" class="tab" aria-pressed=${tab === key} id=${`tab-${key}`}
                  onClick=${() => setTab(key)}>${label}</button>`)}
      </nav>
      <button type="button" onClick=${logout}>Log out</button>
    </header>
    ${errors.length > 0 && html`<p class="error" role="status">${errors.map(([k, m]) => `${k}: ${m}`).join("; ")}</p>`}
    <main id="view" data-synced=${store.synced.size}>
      ${tab === "workloads" && html`<${Workloads} store=${store} namespace=${namespace} onLogs=${setLogsOf} />`}
      ${tab === "nodes" && html`<${Nodes} store=${store} namespace=${namespace} />`}
      ${tab === "events" && html`<${Events} store=${store} namespace=${namespace} />`}
    </main>
    ${logsOf && html`<${Logs} pod=${logsOf} onClose=${() => setLogsOf(null)} />`}`;
}

function App() {
  const [state, setState] = useState({ phase: "probing", refusal: null });
  const enter = () => {
    store.start((error) => { store.stop(); setState({ phase: "login", refusal: error.message }); });
    setState({ phase: "in", refusal: null });
  };
  useEffect(() => {
    probe().then((refused) => (refused ? setState({ phase: "login", refusal: `Not logged in: the API answered ${refused.message}` }) : enter()));
  }, []);
  if (state.phase === "probing") return html`<p class="help">Connecting…</p>`;
  if (state.phase === "login") return html`<${Login} onLogin=${enter} refusal=${state.refusal} />`;
  return html`<${Dashboard} onLogout=${() => { store.stop(); setState({ phase: "login", refusal: null }); }} />`;
}

render(html`<${App} />`, document.getElementById("app"));
