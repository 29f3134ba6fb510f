// The browser APIs of keep.py (saving, loading and autosaving a run) and the offline copy of the site.
//   keepStore: a saved state's text stays here, never a MicroPython string: split() takes the worker's
//     two-part answer (a header line, then the text), and the text is downloaded as a Blob or stored as bytes.
//   Autosave, one run per tab: a tab's id lives in sessionStorage (it survives the tab's reloads) and is held
//     as a Web Lock while the tab is open, so a duplicated tab (which copies sessionStorage) takes an id of its
//     own, and the runs of open tabs are known. IndexedDB "microgpt" (version 2) keeps, by run id, "meta"
//     {meta: JSON text, saved: ms} and "runs" the state as bytes (a Uint8Array: private WebKit refuses Blobs
//     in IndexedDB). On opening, the tab's run of before the reload is set aside under an id of no tab: it is
//     offered with the runs of closed tabs (those of other open tabs are theirs), and Resume makes it the
//     tab's again. Each autosave keeps the newest KEEP runs of no open tab and deletes older ones. Version 1's
//     one run ("latest", a Blob) becomes such a run. Storage that fails gives a message.
//   saveChart(): the loss chart's canvas as a PNG download.
//   The service worker (sw.js, written by build.py) is registered here.
"use strict";

(() => {
  const DB = "microgpt", VERSION = 2, RUNS = "runs", METAS = "meta";
  const TAB = "microgpt-tab", LOCK = "microgpt-tab:", KEEP = 5;

  function open() {
    return new Promise((resolve, reject) => {
      let request;
      try {
        request = indexedDB.open(DB, VERSION);
      } catch (err) {
        reject(err);
        return;
      }
      request.onupgradeneeded = (event) => {
        const db = request.result, tx = request.transaction;
        const runs = db.objectStoreNames.contains(RUNS) ? tx.objectStore(RUNS) : db.createObjectStore(RUNS);
        const metas = db.createObjectStore(METAS);
        if (event.oldVersion === 1) {  // one run for the whole site, {meta, state: Blob, saved} under "latest"
          runs.get("latest").onsuccess = (e) => {
            const old = e.target.result;
            if (old && old.meta && old.state) {
              metas.put({ meta: old.meta, saved: old.saved || 0 }, "latest");
              runs.put(old.state, "latest");  // a Blob: read as one (stateUrl)
            } else {
              runs.delete("latest");
            }
          };
        }
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error || new Error("indexedDB.open failed"));
      request.onblocked = () => reject(new Error("the storage is blocked by another tab"));
    });
  }

  // use(metas, runs) in one transaction over both stores (it may await their requests: asked()); resolves to
  // what use resolves to, when the transaction completes
  async function run(mode, use) {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction([METAS, RUNS], mode);
        let result, failure;
        Promise.resolve(use(tx.objectStore(METAS), tx.objectStore(RUNS))).then((r) => { result = r; }, (err) => {
          failure = err;
          tx.abort();
        });
        tx.oncomplete = () => resolve(result);
        tx.onerror = tx.onabort = () => reject(failure || tx.error || new Error("the transaction failed"));
      });
    } finally {
      db.close();
    }
  }

  // a request's result
  const asked = (request) => new Promise((resolve) => { request.onsuccess = () => resolve(request.result); });

  // every stored run: [{id, meta, saved}], newest first
  const listRuns = (metas) => new Promise((resolve) => {
    const out = [];
    metas.openCursor().onsuccess = (e) => {
      const cursor = e.target.result;
      if (!cursor) {
        resolve(out.sort((a, b) => b.saved - a.saved));
        return;
      }
      out.push({ id: String(cursor.key), meta: cursor.value.meta, saved: cursor.value.saved });
      cursor.continue();
    };
  });

  // -- this tab's id -------------------------------------------------------------------------------------------
  const newId = () => `tab-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

  // hold the lock of `id` while the tab is open; true when it is ours (waitMs: how long another may keep it)
  function hold(id, waitMs) {
    return new Promise((resolve) => {
      const timeout = waitMs && AbortSignal.timeout ? { signal: AbortSignal.timeout(waitMs) } : { ifAvailable: true };
      try {
        navigator.locks.request(LOCK + id, timeout, (lock) => {
          resolve(!!lock);
          return lock ? new Promise(() => {}) : undefined;
        }).catch(() => resolve(false));
      } catch (err) {  // e.g. refused in this context: the id stays unheld
        resolve(false);
      }
    });
  }

  async function claim() {
    let id = null;
    try { id = sessionStorage.getItem(TAB); } catch (err) { /* no sessionStorage: an id for this page only */ }
    if (!id || !/^tab-[0-9a-z-]{1,40}$/.test(id)) id = newId();
    // the page before a reload lets go of its lock as it unloads; a duplicated tab's original keeps it
    if (navigator.locks && !(await hold(id, 1000))) {
      id = newId();
      await hold(id, 0);
    }
    try { sessionStorage.setItem(TAB, id); } catch (err) { /* as above */ }
    return id;
  }

  // ids of the runs of tabs open now (Web Locks; none known without them)
  async function openTabs() {
    try {
      const { held } = await navigator.locks.query();
      return new Set(held.filter((l) => l.name.startsWith(LOCK)).map((l) => l.name.slice(LOCK.length)));
    } catch (err) {
      return new Set();
    }
  }

  function why(err) {
    const text = err && (err.message || err.name) ? `${err.name || "Error"}: ${err.message || ""}` : String(err);
    return text || "storage refused";
  }

  function blobOf(parts) {
    if (!parts.blob) parts.blob = new Blob([parts.body], { type: "application/json" });
    return parts.blob;
  }

  const tab = claim();

  // On opening: the tab's run of before a reload is set aside (a run of no tab, offered with the others)
  async function setAside() {
    const id = await tab;
    await run("readwrite", async (metas, runs) => {
      const [meta, state] = await Promise.all([asked(metas.get(id)), asked(runs.get(id))]);
      if (!meta || !state) return;
      const other = newId();
      metas.put(meta, other);
      runs.put(state, other);
      metas.delete(id);
      runs.delete(id);
    });
  }

  window.keepStore = {
    tab,
    // the worker's answer "HEAD\nTEXT" as {head, body}
    async split(promise) {
      const text = await promise;
      const i = text.indexOf("\n");
      return i < 0 ? { head: text, body: "" } : { head: text.slice(0, i), body: text.slice(i + 1) };
    },
    download(parts, filename) {
      saveBlob(filename, blobOf(parts));
    },
    // the chart's points from an import_state answer
    plot(parts, first) {
      const losses = parts.body;
      parts.body = "";
      if (losses && losses !== "[]") window.lossChart.append(first, losses);
    },
    // store the tab's run and forget runs of no open tab beyond the newest KEEP; "" when stored, else why not
    async put(parts, metaJson) {
      try {
        const id = await tab, state = new TextEncoder().encode(parts.body), live = await openTabs();
        parts.body = "";
        await run("readwrite", async (metas, runs) => {
          metas.put({ meta: metaJson, saved: Date.now() }, id);
          runs.put(state, id);
          const closed = (await listRuns(metas)).filter((r) => r.id !== id && !live.has(r.id));
          for (const old of closed.slice(KEEP)) {
            metas.delete(old.id);
            runs.delete(old.id);
          }
        });
        return "";
      } catch (err) {
        return why(err);
      }
    },
    // the runs to offer (not this tab's, nor another open tab's): JSON [{id, meta, saved}], newest first
    async runs() {
      try {
        const id = await tab, live = await openTabs();
        const all = await run("readonly", (metas) => listRuns(metas));
        return JSON.stringify(all.filter((r) => r.id !== id && !live.has(r.id)));
      } catch (err) {
        return "[]";
      }
    },
    // a run's meta (JSON text; this tab's run when no id), "" when there is none or storage cannot be read
    async meta(id) {
      try {
        const key = id || await tab;
        const record = await run("readonly", (metas) => asked(metas.get(key)));
        return record && record.meta ? record.meta : "";
      } catch (err) {
        return "";
      }
    },
    // a blob: URL of a run's state (this tab's when no id; "" when none); the caller revokes it
    async stateUrl(id) {
      try {
        const key = id || await tab;
        const state = await run("readonly", (metas, runs) => asked(runs.get(key)));
        return state ? URL.createObjectURL(new Blob([state], { type: "application/json" })) : "";
      } catch (err) {
        return "";
      }
    },
    // a resumed run becomes this tab's (moved: offered no more, autosaved here from now on)
    async adopt(id) {
      try {
        const own = await tab;
        await run("readwrite", async (metas, runs) => {
          const [meta, state] = await Promise.all([asked(metas.get(id)), asked(runs.get(id))]);
          if (!meta || !state) return;
          metas.put(meta, own);
          runs.put(state, own);
          metas.delete(id);
          runs.delete(id);
        });
      } catch (err) { /* it stays where it was */ }
    },
    async discard(id) {
      try {
        await run("readwrite", (metas, runs) => {
          metas.delete(id);
          runs.delete(id);
        });
      } catch (err) { /* nothing stored, nothing to discard */ }
    },
    // call back when the tab is hidden or the page goes away (the run is saved then)
    onHide(callback) {
      document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") callback(); });
      window.addEventListener("pagehide", () => callback());
    },
  };

  // the runs to offer when the page opened, read at once while Python starts (keep.py offers to resume them)
  window.keepStore.runsAtOpen = setAside().catch(() => {}).then(() => window.keepStore.runs());
  // why the browser refuses this site's storage ("" when it opens): said at start-up, autosave then stays off
  window.keepStore.refusedAtOpen = open().then((db) => { db.close(); return ""; }, why);

  const saveBlob = (filename, blob) => window.saveBlob(filename, blob);  // page.js

  // the loss chart (uPlot draws axes, grid and lines on one canvas) on white, as a PNG file
  window.saveChart = (filename) => new Promise((resolve) => {
    const chart = document.querySelector("#chart canvas");
    if (!chart) { resolve("there is no chart yet"); return; }
    const canvas = document.createElement("canvas");
    canvas.width = chart.width;
    canvas.height = chart.height;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(chart, 0, 0);
    canvas.toBlob((blob) => {
      if (!blob) { resolve("the browser could not make a PNG"); return; }
      saveBlob(filename, blob);
      resolve("");
    }, "image/png");
  });

  // the offline copy: sw.js caches every file of the site (build.py lists them, versioned by content)
  if ("serviceWorker" in navigator && location.protocol !== "file:") {
    window.addEventListener("load", () => {
      navigator.serviceWorker.register("./sw.js").catch(() => { /* no offline copy: the page works online */ });
    });
  }
})();
