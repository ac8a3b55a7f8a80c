// The page's client of the Kubernetes API: the same requests kubectl makes, authenticated by the
// kubeconfig's token (kept in sessionStorage) or by the one-time link's HttpOnly session cookie.

const TOKEN_KEY = "tinykube.token";

/** An API answer that was not a success, carrying the Status message the server gave. */
export class ApiError extends Error {
  constructor(code, message, status) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export function setToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  // The custom header marks the page's own requests: the server accepts the session cookie only
  // with it, and a cross-site page cannot send it without a CORS preflight (never granted).
  const h = { "X-Tinykube-UI": "1", Accept: "application/json", ...extra };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

async function failure(response) {
  const text = await response.text();
  try {
    const status = JSON.parse(text);
    if (status.kind === "Status") return new ApiError(response.status, status.message || status.reason, status);
  } catch (_) { /* not JSON */ }
  return new ApiError(response.status, text || response.statusText);
}

/** One API call; resolves to the decoded JSON answer, rejects with ApiError. */
export async function request(method, path, body, contentType = "application/json") {
  const init = { method, headers: headers(body === undefined ? {} : { "Content-Type": contentType }),
                 credentials: "same-origin" };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

/** Reads a streamed answer line by line (watch events, followed logs) until it ends or is aborted. */
export async function streamLines(path, onLine, signal) {
  const response = await fetch(path, { headers: headers(), credentials: "same-origin", signal });
  if (!response.ok) throw await failure(response);
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffered.indexOf("\n")) >= 0) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
    }
  }
  if (buffered) onLine(buffered);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One watch over a WebSocket (a browser allows six HTTP connections per host; a WebSocket is
 * not counted). Resolves when the server ends the watch; rejects with ApiError when the server
 * closes it with 4000 + an HTTP status code.
 */
function watchSocket(path, onMessage, signal) {
  return new Promise((resolve, reject) => {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const protocols = token
      ? [`base64url.bearer.authorization.k8s.io.${btoa(token).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`,
         "tinykube.watch"]
      : [];
    const socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`, protocols);
    const stop = () => socket.close();
    signal.addEventListener("abort", stop);
    socket.onmessage = (message) => onMessage(message.data);
    socket.onclose = (event) => {
      signal.removeEventListener("abort", stop);
      if (event.code >= 4000 && event.code < 5000) reject(new ApiError(event.code - 4000, event.reason));
      else if (event.code === 1000 || signal.aborted) resolve();
      else reject(new ApiError(0, "the watch connection was lost"));
    };
  });
}

/**
 * An informer: list, then watch from the list's resourceVersion; relist when the watch answers
 * 410 Gone, rewatch when the server ends it. Calls onReset(items) after each list and
 * onEvent(type, object) for each watch event; onError(error) for a refused request.
 */
export async function inform(path, { onReset, onEvent, onError }, signal) {
  while (!signal.aborted) {
    let rv;
    try {
      const list = await request("GET", path);
      rv = list.metadata.resourceVersion;
      onReset(list.items || []);
    } catch (error) {
      onError(error);
      if (error.code === 401 || error.code === 403) return;
      await sleep(1000);
      continue;
    }
    let gone = false;
    while (!signal.aborted && !gone) {
      const sep = path.includes("?") ? "&" : "?";
      try {
        await watchSocket(`${path}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${rv}`, (line) => {
          const event = JSON.parse(line);
          if (event.type === "ERROR") { gone = true; return; }
          rv = event.object.metadata.resourceVersion;
          if (event.type !== "BOOKMARK") onEvent(event.type, event.object);
        }, signal);
      } catch (error) {
        if (signal.aborted) return;
        if (error.code) onError(error);
        if (error.code === 401 || error.code === 403) return;
        await sleep(1000);
        gone = error.code === 410;
      }
    }
  }
}
