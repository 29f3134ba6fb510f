// The sandboxed worker: where edited code runs (the Code panel's Train with my code, a link's code, a saved or
// autosaved run's code). A hidden iframe, sandbox="allow-scripts" without allow-same-origin, so an opaque origin:
// no Cache Storage, IndexedDB, service worker or cookies of the site, no access to this page; its document
// (sandbox_frame.html, as srcdoc) adds connect-src 'none' to the page's policy, so nothing can be fetched or
// connected to. This page sends it, through messages, everything it runs: Pyodide's files (read through this
// page's fetch, so the service worker serves them offline), the memory snapshot start_pyodide.mjs keeps, and the
// Python: microgpt's files and the rows' files (worker_rows.py and its modules, listed in py/worker_rows.json), the
// very rows the PyScript worker runs (web/worker/sandbox_worker.js).
//
// window.sandboxWorker.rows has the PyScript worker's shape for web/page/client.py: rows.<row>(...args) is a promise
// of the answer's text. The two rows that take a blob: URL there (stage_url, import_state) read it here and send
// the bytes. A sandbox that is gone (sandbox_worker.js reports Python gone) fails its calls under way with
// "no answer: why" and calls back, as page.js's trainerWorkers does for the PyScript worker.
"use strict";

(() => {
  const START_MS = 60000;  // loading Pyodide from nothing on a slow machine takes seconds; a minute is gone
  const SNAPSHOT_CACHE = "microgpt-pyodide-snapshot";  // start_pyodide.mjs's (read only here)
  const PYODIDE_FILES = ["pyodide.asm.wasm", "python_stdlib.zip"];
  let frame = null, port = null, pending = new Map(), nextId = 1, goneWhy = "", onGone = null, current = "";
  let sourceText = null;  // the worker's source, assembled once
  let starting = null, abortStart = null;  // the start under way: its promise, and how stop() ends it

  async function fetchOk(url, how) {
    const response = await fetch(url);
    if (!response.ok) throw new Error(`${url} could not be loaded (HTTP ${response.status})`);
    return how === "text" ? response.text() : response.arrayBuffer();
  }

  // Pyodide's two modules and sandbox_worker.js as one classic script (Chromium starts no module worker from an
  // opaque origin's blob: URL): the asm module's default export and the loader's exports become plain names, and
  // import.meta.url a name the worker never fetches (it cannot import anything: its policy allows no script URL)
  async function workerSource() {
    if (sourceText) return sourceText;
    const [asm, loader, own] = await Promise.all(
      ["./pyodide/pyodide.asm.mjs", "./pyodide/pyodide.mjs", "./sandbox_worker.js"].map((u) => fetchOk(u, "text")));
    const asmExport = /export\s+default\s+_createPyodideModule;?\s*$/;
    const loaderExport = /export\s*\{([^}]*)\};?\s*(\/\/# sourceMappingURL=\S*\s*)?$/;
    const names = loader.match(loaderExport);
    if (!asmExport.test(asm) || !names) throw new Error("this Pyodide's modules are not the expected shape");
    const exported = names[1].split(",").map((pair) => pair.trim().split(/\s+as\s+/)).map(([a, b]) => `${b || a}: ${a}`);
    const meta = /\bimport\.meta\.url\b/g, url = JSON.stringify("https://sandbox.invalid/pyodide/pyodide.mjs");
    // no importScripts at all, not only none its policy allows (Pyodide takes a worker that has it for a classic
    // one, which it refuses to run in)
    const noScripts = 'self.importScripts = () => { throw new TypeError("the sandboxed worker imports no scripts"); };';
    sourceText = [noScripts, asm.replace(asmExport, ""),
                  loader.replace(loaderExport, `const PYODIDE = {${exported.join(", ")}};`), own].join("\n;\n").replace(meta, url);
    return sourceText;
  }

  async function snapshotBytes() {
    try {
      const cache = await caches.open(SNAPSHOT_CACHE);
      const keys = await cache.keys();
      const response = keys.length ? await cache.match(keys[0]) : null;
      return response ? await response.arrayBuffer() : null;
    } catch (err) {
      return null;  // no storage: Pyodide starts as usual
    }
  }

  async function pythonFiles() {
    const list = JSON.parse(await fetchOk("./py/files.json", "text"));
    const python = {};
    await Promise.all(list.map(async (rel) => { python[rel] = await fetchOk("./py/" + rel, "text"); }));
    const rows = JSON.parse(await fetchOk("./py/worker_rows.json", "text"));  // worker_rows.py and the modules it imports
    await Promise.all(rows.map(async (name) => { python[name] = await fetchOk("./" + name, "text"); }));
    return python;
  }

  function fail(why) {
    for (const { reject } of pending.values()) reject(new Error(`no answer: ${why}`));
    pending.clear();
  }

  function onFrameMessage(event) {
    if (!frame || event.source !== frame.contentWindow || !event.data) return;
    if (typeof event.data.sandboxError === "string") console.warn("sandboxed worker:", event.data.sandboxError);
  }
  window.addEventListener("message", onFrameMessage);

  const sandbox = {
    // start a fresh sandboxed worker named `name` (any earlier one is stopped); resolves to how Pyodide started
    // the running one, or the one starting, or a fresh one named `name`: a promise of how it started
    ensure(name) {
      if (this.running() && !starting) return Promise.resolve("running");
      if (!starting) {
        starting = this.start(name).finally(() => { starting = null; });
        starting.catch(() => {});  // the caller that awaits it reports a failure
      }
      return starting;
    },
    starting() { return starting !== null; },
    async start(name) {
      this.stop("a fresh sandboxed worker replaced it");
      current = name;
      goneWhy = "";
      performance.mark("microgpt:sandbox-start");
      const [source, frameHtml, lock, python, snapshot, ...files] = await Promise.all([
        workerSource(), fetchOk("./sandbox_frame.html", "text"), fetchOk("./pyodide/pyodide-lock.json", "text"),
        pythonFiles(), snapshotBytes(), ...PYODIDE_FILES.map((f) => fetchOk("./pyodide/" + f))]);
      if (current !== name) throw new Error("stopped while starting");
      frame = document.createElement("iframe");
      frame.setAttribute("sandbox", "allow-scripts");
      frame.hidden = true;
      frame.title = "sandboxed worker for edited code";
      frame.srcdoc = frameHtml;
      const loaded = new Promise((resolve) => frame.addEventListener("load", resolve, { once: true }));
      document.body.appendChild(frame);
      await loaded;
      const channel = new MessageChannel();
      port = channel.port1;
      const ready = new Promise((resolve, reject) => {
        abortStart = (why) => { clearTimeout(timer); reject(new Error(why)); };
        const timer = setTimeout(() => reject(new Error("the sandboxed worker did not start within a minute")), START_MS);
        port.onmessage = (event) => {
          const m = event.data || {};
          if ("ready" in m) { clearTimeout(timer); resolve(String(m.ready)); return; }
          if ("gone" in m) { clearTimeout(timer); reject(new Error(String(m.gone))); this.gone(String(m.gone)); return; }
          const call = pending.get(m.id);
          if (!call) return;
          pending.delete(m.id);
          if (typeof m.answer === "string") call.resolve(m.answer);
          else call.reject(new Error(String(m.error)));
        };
      });
      const fileMap = {};
      PYODIDE_FILES.forEach((f, i) => { fileMap[f] = files[i]; });
      const start = { port: channel.port2, files: fileMap, lock, snapshot, python };
      frame.contentWindow.postMessage({ source, start, transfer: [channel.port2, ...files, ...(snapshot ? [snapshot] : [])] },
                                      "*", [channel.port2, ...files, ...(snapshot ? [snapshot] : [])]);
      const how = await ready;
      performance.mark("microgpt:sandbox-ready", { detail: how });  // benchmarks/browser.py
      return how;
    },
    gone(why) {
      if (goneWhy) return;
      goneWhy = why;
      fail(why);
      if (onGone) onGone(why);
    },
    // end it now (Stop, a step past its limit, back to the shipped code): calls under way fail with `why`
    stop(why) {
      current = "";
      if (abortStart) abortStart(why || "stopped while starting");
      abortStart = null;
      if (frame) frame.remove();  // its worker ends with its document
      frame = null;
      port = null;
      fail(why || "the sandboxed worker was stopped");
    },
    running() { return frame !== null && !goneWhy; },
    watch(callback) { onGone = callback; },
    call(row, args) {
      if (goneWhy) return Promise.reject(new Error(`no answer: ${goneWhy}`));
      if (!port) return Promise.reject(new Error("no answer: the sandboxed worker is not running"));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        port.postMessage({ id, row, args });
      });
    },
    // the documents of an export_state answer's state as a Blob, one a line (a loaded run's dataset, carried to
    // the other worker); null when the text is not a state with documents
    documentsBlob(parts) {
      return documentsOf(parts.body);
    },
    // the same from a saved state (a blob: URL): the dataset of a loaded run, for a link and a Restart
    async documentsOfState(url) {
      try {
        return documentsOf(await fetchOk(url, "text"));
      } catch (err) {
        return null;
      }
    },
    // whether a saved state (a blob: URL) carries edited code: it is then loaded in here
    async stateHasCode(url) {
      try {
        const state = JSON.parse(await fetchOk(url, "text"));
        return !!(state && typeof state.code === "object" && state.code && Object.keys(state.code).length);
      } catch (err) {
        return false;  // not a state: the PyScript worker says why
      }
    },
  };

  function documentsOf(stateText) {
    try {
      const docs = JSON.parse(stateText).docs;
      if (!Array.isArray(docs) || !docs.every((d) => typeof d === "string")) return null;
      return new Blob([docs.join("\n")], { type: "text/plain" });
    } catch (err) {
      return null;
    }
  }
  const bytesOf = async (url) => new Uint8Array(await fetchOk(url));
  // the PyScript worker's rows (web/worker/worker.py), each a promise of the answer's text
  const rows = {
    async init(baseUrl) { return JSON.stringify({ presets: JSON.parse(await fetchOk(baseUrl + "data/presets.json", "text")) }); },
    async stage_url(url, source) { return sandbox.call("stage_bytes", [await bytesOf(url), source]); },
    async import_state(url, source, ...more) { return sandbox.call("import_bytes", [await bytesOf(url), source, ...more]); },
  };
  // every other row (web/worker/worker_rows.py's ROWS, the table in web/worker/protocol.py) goes to the sandbox as it is called
  // (not `then` or a symbol: the object must not look like a promise or convert itself)
  sandbox.rows = new Proxy(rows, { get: (own, row) => own[row] || (typeof row !== "string" || row === "then"
    ? undefined : (...args) => sandbox.call(row, args)) });
  window.sandboxWorker = sandbox;
})();
