// The worker's Pyodide, started from a memory snapshot (PyScript's `interpreter` for the worker: build.py's
// config points here instead of at pyodide/pyodide.mjs, and PyScript calls loadPyodide below as it would
// Pyodide's own).
//
// Starting CPython costs seconds in WebAssembly (Py_Initialize, then importing asyncio, pyodide.http and the
// modules microgpt needs); copying a snapshot of that memory in costs a tenth of it. So the first start in a
// browser loads Pyodide as usual with those modules imported, takes a snapshot of its memory, keeps it in Cache
// Storage, and starts the interpreter the page uses from it; every later start (a repeat visit, a reload,
// Restart, offline) reads the snapshot and starts from it. Either way the page's interpreter comes from a
// snapshot. A snapshot that cannot be read, made, kept or started from: Pyodide starts as usual.
//
// The snapshot holds memory only: the files (the standard library's zip, microgpt/, PyScript's own) are written
// again at every start, and microgpt itself is imported after it (its files change with the site; these modules
// change only with Pyodide, whose build id the snapshot carries and Pyodide checks). The global random
// generator is reseeded after a start (the snapshot would give every start the same one).
import { loadPyodide as loadFresh, version } from "./pyodide/pyodide.mjs";

export { version };

// Imported before the snapshot: what worker.py, PyScript's worker side and microgpt import, the slow ones
// (asyncio, pyodide.http) first. A module left out still works: it is imported when first needed.
const PRELOAD = [
  "asyncio", "pyodide.http", "pyodide.ffi", "json", "random", "math", "time", "gc", "dataclasses", "typing",
  "functools", "itertools", "operator", "linecache", "collections", "contextlib", "difflib", "types", "pathlib",
  "base64", "html", "inspect",
];
const INDEX_URL = new URL("./pyodide/", import.meta.url).href;
const CACHE = "microgpt-pyodide-snapshot";  // not an offline copy: sw.js does not replace it
// The snapshot is made in the browser, so no build can list its hash, and nothing the site's origin stores is out
// of reach of a script running with the origin's rights: a snapshot planted in Cache Storage by such a script
// cannot be told from one this file made. What limits it: the key names this build (build.py writes BUILD, a hash
// of every other file of dist/), so a new deployment never starts from a snapshot an older one stored (the first
// start of each build makes a new one, and keepSnapshot deletes the others). The residual risk: a script with the
// origin's rights can plant a snapshot this build then starts from, until the next deployment; the defence is that
// code from a link or a file never gets those rights (issue 18: its own sandboxed worker).
const BUILD = "{{build}}";
const KEY = new URL(`./pyodide/snapshot-${BUILD}-${version}-${PRELOAD.join(",")}`, import.meta.url).href;

const mark = (name, detail) => performance.mark("microgpt:" + name, { detail });

async function openCache() {
  return globalThis.caches ? caches.open(CACHE) : null;  // no Cache Storage (http: other than localhost)
}

// the stored snapshot's bytes; fails when there is none or storage cannot be read
async function readSnapshot() {
  const cache = await openCache();
  const response = cache && await cache.match(KEY);
  if (!response) throw new NoSnapshot();
  return new Uint8Array(await response.arrayBuffer());
}

class NoSnapshot extends Error {}

async function keepSnapshot(snapshot) {
  try {
    const cache = await openCache();
    if (!cache) return;
    for (const request of await cache.keys()) await cache.delete(request);  // one snapshot: this Pyodide's
    await cache.put(KEY, new Response(snapshot, { headers: { "Content-Type": "application/octet-stream" } }));
  } catch (err) { /* a full or refused storage: the next start makes one again */ }
}

function reseed(pyodide) {
  pyodide.runPython("import random\nrandom.seed()");
}

async function makeSnapshot(options) {
  const maker = await loadFresh({ ...options, _makeSnapshot: true });
  maker.runPython(PRELOAD.map((name) => `import ${name}`).join("\n"));
  return maker.makeMemorySnapshot();
}

export async function loadPyodide(options = {}) {
  options = { ...options, indexURL: INDEX_URL };
  mark("pyodide-start");
  return withOneModule(() => start(options));
}

async function start(options) {
  // read while Pyodide fetches and compiles its files (it awaits the snapshot only once they are in)
  const stored = readSnapshot();
  const found = stored.then(() => true, () => false);
  try {
    return started(await loadFresh({ ...options, _loadSnapshot: stored }), "snapshot");
  } catch (err) {
    if (await found) console.warn("the Pyodide snapshot did not start (making a new one):", err);
  }
  let snapshot;
  try {
    snapshot = await makeSnapshot(options);
  } catch (err) {
    console.warn("no Pyodide snapshot (starting as usual):", err);
    return started(await loadFresh(options), "no snapshot");
  }
  keepSnapshot(snapshot);  // in the background: the page does not wait for the disk
  return started(await loadFresh({ ...options, _loadSnapshot: snapshot }), "snapshot made");
}

// A start that loads Pyodide more than once (the first: the snapshot's maker, then the interpreter the page uses)
// compiles its WebAssembly once: each later load instantiates the module the first compiled. In Safari's engine
// (JavaScriptCore) that is most of the first visit's wait: a module's functions start in an interpreter and are
// compiled one by one as they run, all kept with the module and nothing kept across modules, so a second module
// would run Pyodide's start cold again (README, Speed: WebKit). Pyodide calls instantiateStreaming for its module;
// only during this start, and only in this worker.
async function withOneModule(run) {
  const streaming = WebAssembly.instantiateStreaming;
  let module = null;
  WebAssembly.instantiateStreaming = async (source, imports) => {
    if (!module) {
      const result = await streaming.call(WebAssembly, source, imports);
      module = result.module;
      return result;
    }
    Promise.resolve(source).then((response) => response.body && response.body.cancel()).catch(() => {});
    return { module, instance: await WebAssembly.instantiate(module, imports) };
  };
  try {
    return await run();
  } finally {
    WebAssembly.instantiateStreaming = streaming;
  }
}

function started(pyodide, how) {
  if (how !== "no snapshot") reseed(pyodide);
  mark("pyodide-ready", how);
  return pyodide;
}
