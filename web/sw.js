// The offline copy of the site (a service worker). build.py writes dist/sw.js from this file: MANIFEST maps every
// file of dist/ (and "./", the page: index.html's bytes) to the SHA-256 of its bytes, and CACHE is named by a hash
// of them all. A new build is a new sw.js, so the browser installs it on the next visit: it caches the new files,
// then deletes the old cache.
// Integrity: only bytes whose hash is the manifest's are ever kept or served from the cache. A cached copy that is
// not (planted or damaged: anything on the site's origin can write to Cache Storage) is deleted and fetched again;
// offline, it is not served at all. This script itself lives in the browser's service worker registration, which
// no page script can write: the manifest is the anchor.
// Other caches of the site (the worker's Pyodide snapshot, datasets fetched for links) outlive builds: only the
// offline copies (microgpt- and 16 hex digits) are replaced. (start_pyodide.mjs and share.js check those.)
// Runtime files (Pyodide, MicroPython, PyScript, uPlot: pinned by package-lock.json) come from the cache first;
// the site's own files from the network first, so a new build is served at once, and from the cache offline.
"use strict";

const CACHE = "{{cache}}";
const MANIFEST = {{manifest}};
const FILES = Object.keys(MANIFEST);
const OFFLINE_COPY = /^microgpt-[0-9a-f]{16}$/;
const RUNTIME = /\/(pyodide|micropython|pyscript|vendor)\/[^/]+$/;
const BASE = new URL("./", self.location.href).href;  // the site's folder (sw.js sits at its root)

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

// "./path" of the manifest for a URL of the site (query and fragment dropped), or null
function fileOf(address) {
  const url = new URL(address);
  url.search = "";
  url.hash = "";
  if (!url.href.startsWith(BASE)) return null;
  const file = "./" + url.href.slice(BASE.length);
  return Object.prototype.hasOwnProperty.call(MANIFEST, file) ? file : null;
}

// a response holding `bytes`, with the headers of `like` (the content type matters: modules, WebAssembly)
function withBytes(bytes, like) {
  return new Response(bytes, { status: 200, statusText: "OK", headers: like.headers });
}

// the build's bytes of `file` from the network; fails when the host sends others (a deployment under way)
async function fetchVerified(file) {
  const response = await fetch(new Request(file, { cache: "reload" }));
  if (!response.ok) throw new Error(`${file}: HTTP ${response.status}`);
  const bytes = await response.arrayBuffer();
  if (await sha256(bytes) !== MANIFEST[file]) throw new Error(`${file} does not match this build's manifest`);
  return withBytes(bytes, response);
}

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    // a few at a time: the machine may be small
    const queue = FILES.slice();
    const next = async () => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
        if (await verified(cache, file)) continue;  // an earlier, interrupted install kept it
        await cache.put(file, await fetchVerified(file));
      }
    };
    await Promise.all([next(), next(), next(), next()]);
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) {
      if (OFFLINE_COPY.test(key) && key !== CACHE) await caches.delete(key);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== location.origin || !url.protocol.startsWith("http")) return;
  const file = fileOf(request.url);
  if (file === null) return;  // not a file of this build: the network, as if there were no service worker
  event.respondWith(RUNTIME.test(url.pathname) ? cacheFirst(event, file) : networkFirst(event, file));
});

// the cached copy of `file` when its bytes are the build's, else null (a copy that is not is deleted)
async function verified(cache, file) {
  const cached = await cache.match(file);
  if (!cached) return null;
  const bytes = await cached.arrayBuffer();
  if (await sha256(bytes) === MANIFEST[file]) return withBytes(bytes, cached);
  await cache.delete(file);
  return null;
}

async function fromCache(file) {
  return verified(await caches.open(CACHE), file);
}

// fetched again after a missing or refused copy: served as the host sends it (a newer build's file is the host's
// to serve), and kept only when its bytes are this build's
async function fetchAndKeep(event, file) {
  const response = await fetch(event.request);
  if (response.ok) {
    const copy = response.clone();
    event.waitUntil((async () => {
      const bytes = await copy.arrayBuffer();
      if (await sha256(bytes) !== MANIFEST[file]) return;
      const cache = await caches.open(CACHE);
      if (!(await verified(cache, file))) await cache.put(file, withBytes(bytes, copy));
    })().catch(() => { /* kept or not: the next visit tries again */ }));
  }
  return response;
}

async function cacheFirst(event, file) {
  return (await fromCache(file)) || fetchAndKeep(event, file);
}

async function networkFirst(event, file) {
  try {
    return await fetchAndKeep(event, file);
  } catch (err) {
    const cached = await fromCache(file);
    if (cached) return cached;
    throw err;
  }
}
