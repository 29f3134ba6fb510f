// The browser APIs of keep.py (saving, loading and autosaving a run) and the offline copy of the site.
//   keepStore: a saved state's text stays here, never a MicroPython string: split() takes the worker's
//     two-part answer (a header line, then the text), and the text is downloaded or stored as a Blob.
//     The autosaved run is one IndexedDB record {meta, state: Blob}; storage that fails gives a message.
//   saveChart(): the loss chart's canvas as a PNG download.
//   The service worker (sw.js, written by build.py) is registered here.
"use strict";

(() => {
  const DB = "microgpt", STORE = "runs", KEY = "latest";

  function open() {
    return new Promise((resolve, reject) => {
      let request;
      try {
        request = indexedDB.open(DB, 1);
      } catch (err) {
        reject(err);
        return;
      }
      request.onupgradeneeded = () => request.result.createObjectStore(STORE);
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error || new Error("indexedDB.open failed"));
      request.onblocked = () => reject(new Error("the storage is blocked by another tab"));
    });
  }

  // one request in its own transaction, resolved when the transaction completes
  async function run(mode, use) {
    const db = await open();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const request = use(tx.objectStore(STORE));
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = tx.onabort = () => reject(tx.error || request.error || new Error("the transaction failed"));
      });
    } finally {
      db.close();
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

  window.keepStore = {
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
    // store the run; resolves to "" when stored, else why not
    async put(parts, metaJson) {
      try {
        const record = { meta: metaJson, state: blobOf(parts), saved: Date.now() };
        parts.body = "";
        await run("readwrite", (store) => store.put(record, KEY));
        return "";
      } catch (err) {
        return why(err);
      }
    },
    // the stored run's meta (JSON text), "" when there is none or storage cannot be read
    async meta() {
      try {
        const record = await run("readonly", (store) => store.get(KEY));
        return record && record.meta ? record.meta : "";
      } catch (err) {
        return "";
      }
    },
    // a blob: URL of the stored run's state ("" when none); the caller revokes it
    async stateUrl() {
      try {
        const record = await run("readonly", (store) => store.get(KEY));
        return record && record.state ? URL.createObjectURL(record.state) : "";
      } catch (err) {
        return "";
      }
    },
    async clear() {
      try {
        await run("readwrite", (store) => store.delete(KEY));
      } catch (err) { /* nothing stored, nothing to clear */ }
    },
    // call back when the tab is hidden or the page goes away (the run is saved then)
    onHide(callback) {
      document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") callback(); });
      window.addEventListener("pagehide", () => callback());
    },
  };

  // the stored run's meta when the page opened, read at once while Python starts (keep.py offers to resume it)
  window.keepStore.metaAtOpen = window.keepStore.meta();
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
