// The offline copy of the site (a service worker). build.py writes dist/sw.js from this file: CACHE is named
// by a hash of every file of dist/, FILES lists them all. A new build is a new sw.js, so the browser installs
// it on the next visit: it caches the new files, then deletes the old cache.
// Other caches of the site (the worker's Pyodide snapshot, datasets fetched for links) outlive builds: only the
// offline copies (microgpt- and 16 hex digits) are replaced.
// Runtime files (Pyodide, MicroPython, PyScript, uPlot: pinned by package-lock.json) come from the cache first;
// the site's own files from the network first, so a new build is served at once, and from the cache offline.
"use strict";

const CACHE = "{{cache}}";
const FILES = {{files}};
const OFFLINE_COPY = /^microgpt-[0-9a-f]{16}$/;
const RUNTIME = /\/(pyodide|micropython|pyscript|vendor)\/[^/]+$/;

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(FILES.map((file) => new Request(file, { cache: "reload" })));
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
  event.respondWith(RUNTIME.test(url.pathname) ? cacheFirst(request) : networkFirst(request));
});

async function fromCache(request) {
  const cache = await caches.open(CACHE);
  return cache.match(request, { ignoreSearch: true });
}

async function cacheFirst(request) {
  return (await fromCache(request)) || fetch(request);
}

async function networkFirst(request) {
  try {
    return await fetch(request);
  } catch (err) {
    const cached = await fromCache(request);
    if (cached) return cached;
    throw err;
  }
}
