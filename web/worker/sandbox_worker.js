// The sandboxed worker's own part (web/js/sandbox.js appends it to Pyodide's two modules, pyodide.asm.mjs and
// pyodide.mjs, as one module a blob: URL in the sandboxed frame starts): it runs edited code, web/worker/worker_rows.py's
// rows, in an opaque origin under a policy that lets nothing be fetched. What Pyodide's loader fetches (the
// WebAssembly, the standard library) comes with the start message, and so does the memory snapshot when the
// page has one (start_pyodide.mjs makes it), microgpt's files and the rows' files (worker_rows.py and its modules).
//
// Messages: the start message {port, files: {name: ArrayBuffer}, lock: text, snapshot: ArrayBuffer or null,
// python: {path: text}}; then on the port, from the page {id, row, args} and back {id, answer} or {id, error}
// (a Python exception that left Python alive), {ready: how} once, {gone: why} when Python is gone (a fatal
// Pyodide error: a JavaScript stack overflow, os._exit, an abort): no call answers after it.
/* global PYODIDE */

const ROOT = "https://sandbox.invalid/";  // a name only: the loader's requests are answered below, never sent
const GLUE = `
import sys
sys.path.insert(0, '/sandbox')
import worker_rows
from pyodide.ffi import JsProxy
_ROWS = {f.__name__: f for f in worker_rows.ROWS}

def call(name, *args):
    return _ROWS[name](*[a.to_bytes() if isinstance(a, JsProxy) else a for a in args])
`;
let port = null, call = null, pyodide = null, gone = "";

function serveFiles(files) {
  // Pyodide's loader reads its files through fetch: only the ones the page sent, by name
  const fetchSent = async (url) => {
    const name = String(url).split("/").pop();
    if (!Object.prototype.hasOwnProperty.call(files, name)) throw new TypeError(`the sandbox has no ${name}`);
    const type = name.endsWith(".wasm") ? "application/wasm" : "application/octet-stream";
    return new Response(files[name], { headers: { "Content-Type": type } });
  };
  self.fetch = fetchSent;
}

async function load(start) {
  const options = { indexURL: ROOT + "pyodide/", lockFileContents: start.lock, createPyodideModule: _createPyodideModule,
                    stdout: () => {}, stderr: () => {} };
  if (start.snapshot) {
    try {
      return [await PYODIDE.loadPyodide({ ...options, _loadSnapshot: new Uint8Array(start.snapshot) }), "snapshot"];
    } catch (err) { /* a snapshot of another Pyodide, or damaged: start as usual */ }
  }
  return [await PYODIDE.loadPyodide(options), "no snapshot"];
}

async function begin(event) {
  const start = event.data;
  port = start.port;
  port.onmessage = onCall;
  try {
    serveFiles(start.files);
    let how;
    [pyodide, how] = await load(start);
    pyodide.runPython("import random\nrandom.seed()");  // a snapshot would give every start the same generator
    pyodide.FS.mkdirTree("/sandbox/microgpt");
    for (const [path, text] of Object.entries(start.python)) pyodide.FS.writeFile("/sandbox/" + path, text);
    const glue = pyodide.runPython(GLUE + "\ncall");
    call = (row, args) => glue(row, ...args);
    port.postMessage({ ready: how });
  } catch (err) {
    markGone(`the sandboxed worker could not start (${err && err.message ? err.message : err})`);
  }
}

function markGone(why) {
  if (gone) return;
  gone = why;
  port.postMessage({ gone: why });
}

// Python is gone when it can no longer run anything (Pyodide calls its error fatal, or the runtime exited)
function pythonAlive() {
  try {
    pyodide.runPython("0");
    return true;
  } catch (err) {
    return false;
  }
}

function onCall(event) {
  const { id, row, args } = event.data || {};
  if (gone) return;
  if (!call) {
    port.postMessage({ id, error: "the sandboxed worker is still starting" });
    return;
  }
  let answer;
  try {
    answer = call(row, args || []);
  } catch (err) {
    if (!pythonAlive()) {
      markGone(`the Python worker running your code died (${describe(err)})`);
      return;
    }
    port.postMessage({ id, error: describe(err) });
    return;
  }
  port.postMessage({ id, answer: String(answer) });
}

function describe(err) {
  const text = err && err.message ? err.message : String(err);
  const exit = /exit\((-?\d+)\)/.exec(text);  // Emscripten's ExitStatus: "Program terminated with exit(1)"
  if (exit) return `it exited with status ${exit[1]}`;
  if (err instanceof RangeError) return "the JavaScript stack overflowed";
  return text.split("\n").filter((line) => line.trim()).slice(-1)[0] || "a fatal error";
}

self.addEventListener("message", begin, { once: true });
