// The browser APIs of the Share feature (web/page/share.py, web/page/share_data.py, web/page/share_panel.py reach them as
// window.shareLink): the URL fragment read and written, datasets packed into a link (CompressionStream) and
// fetched from a URL or Cache Storage, the clipboard, the QR code (qrcode-generator, npm, drawn as SVG
// elements: nothing here is ever parsed as HTML). Promises resolve to {error, ...}: they never reject.
"use strict";

(() => {
  // characters of one part of a fragment; a longer part is ignored (a packed part has its own, smaller limit:
  // microgpt/links.py, checked by the page where it reads the part)
  const MAX_PART = 16000;
  const MAX_KEY_SHOWN = 40;

  function short(text, n) { return text.length > n ? text.slice(0, n) + "…" : text; }

  // Bounds on a whole fragment, checked before any part is read (a link of 60,000 parts used to keep the page
  // busy for over a minute; Chromium accepts addresses up to 2 MB). The page's own links stay under about 20,000
  // characters (its packed word list and code: microgpt/links.py) and 20 parts.
  const MAX_FRAGMENT = 65536;  // characters
  const MAX_PARTS = 300;
  const count = (n) => n.toLocaleString("en-US");

  // the address bar's fragment (or `hash`) "a=1&b=x%20y" -> [[key, value or null, why ignored or ""], ...] as
  // JSON (small: long parts are dropped here), or {refused: why} for a fragment past the bounds above. The
  // fragment never becomes a MicroPython string (a 2 MB one would cost seconds).
  function parse(hash) {
    if (hash === undefined) hash = location.hash;
    const text = hash.charAt(0) === "#" ? hash.slice(1) : hash;
    const out = [];
    if (!text) return JSON.stringify(out);
    if (text.length > MAX_FRAGMENT) {
      return JSON.stringify({ refused: `it is ${count(text.length)} characters long (the limit is ${count(MAX_FRAGMENT)})` });
    }
    const parts = text.split("&").filter((part) => part);
    if (parts.length > MAX_PARTS) {
      return JSON.stringify({ refused: `it has ${count(parts.length)} parts (the limit is ${count(MAX_PARTS)})` });
    }
    for (const part of parts) {
      const eq = part.indexOf("=");
      const rawKey = eq < 0 ? part : part.slice(0, eq);
      const rawValue = eq < 0 ? "" : part.slice(eq + 1);
      let key;
      try { key = decodeURIComponent(rawKey.replace(/\+/g, " ")); } catch (e) { key = rawKey; }
      key = short(key, MAX_KEY_SHOWN);
      if (part.length > MAX_PART) {
        out.push([key, null, `is ${count(part.length)} characters long (the limit is ${count(MAX_PART)})`]);
        continue;
      }
      try {
        out.push([key, decodeURIComponent(rawValue.replace(/\+/g, " ")), ""]);
      } catch (e) {
        out.push([key, null, "is not valid URL encoding"]);
      }
    }
    return JSON.stringify(out);
  }

  // readable: commas, colons and slashes stay as they are
  function enc(s) {
    return encodeURIComponent(s).replace(/%2C/gi, ",").replace(/%3A/gi, ":").replace(/%2F/gi, "/");
  }

  // [[key, value], ...] -> the fragment ("" for none)
  function fragment(pairsJson) {
    return JSON.parse(pairsJson).map(([k, v]) => enc(k) + "=" + enc(v)).join("&");
  }

  function linkFor(pairsJson) {
    const frag = fragment(pairsJson);
    return location.href.split("#")[0] + (frag ? "#" + frag : "");
  }

  // -- datasets packed into a link: deflate-raw, base64url -------------------------------------------------
  function toBase64url(bytes) {
    let bin = "";
    for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // {text: base64url of deflate-raw, or "" when longer than maxChars, length}: a large list never becomes a
  // MicroPython string (which costs seconds and hundreds of MB a MB)
  async function pack(blob, maxChars) {
    const stream = blob.stream().pipeThrough(new CompressionStream("deflate-raw"));
    const bytes = new Uint8Array(await new Response(stream).arrayBuffer());
    const length = Math.ceil(bytes.length * 4 / 3);
    return { text: length > maxChars ? "" : toBase64url(bytes), length };
  }

  async function readBounded(stream, maxBytes, tooBig) {
    const reader = stream.getReader();
    const chunks = [];
    let total = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        reader.cancel().catch(() => {});
        return { error: tooBig(total) };
      }
      chunks.push(value);
    }
    return { error: "", blob: new Blob(chunks, { type: "text/plain" }) };
  }

  const sized = (n) => n >= 1048576 ? `${n / 1048576} MB` : `${n / 1024} KB`;

  // {error, blob}: a `z:` part's text inflated, at most maxBytes of it; `what` names the limit in the error
  async function unpack(text, maxBytes, what) {
    if (!/^[A-Za-z0-9_-]+$/.test(text) || text.length % 4 === 1) return { error: "is not base64url", blob: null };
    let bin;
    try { bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4)); }
    catch (e) { return { error: "is not base64url", blob: null }; }
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    try {
      const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
      return await readBounded(stream, maxBytes, () => `inflates past the ${sized(maxBytes)} ${what} limit`);
    } catch (e) {
      return { error: "is not valid compressed data", blob: null };
    }
  }

  // -- datasets from a URL ---------------------------------------------------------------------------------
  async function fetchText(address, maxBytes, timeoutMs) {
    let url;
    try { url = new URL(address, document.baseURI); } catch (e) { return { error: "is not a valid URL", blob: null }; }
    if (url.protocol !== "https:" && url.origin !== location.origin) {
      return { error: "is not an https: address (only https: word lists can be loaded)", blob: null };
    }
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), timeoutMs);
    try {
      const r = await fetch(url.href, { signal: ctrl.signal, credentials: "omit", cache: "no-store" });
      if (!r.ok) return { error: `answered HTTP ${r.status}${r.statusText ? " " + r.statusText : ""}`, blob: null };
      const type = (r.headers.get("content-type") || "").toLowerCase();
      if (type && !/^(text\/|application\/octet-stream)/.test(type)) {
        return { error: `is not text (its type is ${short(type, 60)})`, blob: null };
      }
      const tooBig = (n) => `is larger than the ${maxBytes / 1048576} MB limit (${(n / 1e6).toFixed(1)} MB or more)`;
      const length = Number(r.headers.get("content-length"));
      if (length > maxBytes) return { error: tooBig(length), blob: null };
      return await readBounded(r.body, maxBytes, tooBig);
    } catch (e) {
      if (ctrl.signal.aborted) return { error: `did not answer within ${timeoutMs / 1000} s`, blob: null };
      return { error: "could not be fetched: the host refused it to this page (CORS) or could not be reached", blob: null };
    } finally {
      clearTimeout(timer);
    }
  }

  async function sha256(blob) {
    const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
    return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // the same, kept in Cache Storage once fetched (loads again without the network), for a file whose bytes are
  // known: only a file of `size` bytes with this SHA-256 (hex) is used or kept, from the network or the cache (a
  // cached copy that is not, planted or damaged, is deleted and fetched again)
  async function fetchKept(address, maxBytes, timeoutMs, size, hash) {
    const genuine = async (blob) => blob.size === size && await sha256(blob) === hash;
    let cache = null;
    try { cache = await caches.open("microgpt-datasets"); } catch (e) { cache = null; }
    if (cache) {
      try {
        const hit = await cache.match(address);
        const blob = hit && await hit.blob();
        if (blob && await genuine(blob)) return { error: "", blob, cached: true };
        if (hit) await cache.delete(address);
      } catch (e) { /* fetched again */ }
    }
    const r = await fetchText(address, maxBytes, timeoutMs);
    if (r.error) return { error: r.error, blob: null, cached: false };
    if (!(await genuine(r.blob))) {
      return { error: `sent another file than the one expected (${size.toLocaleString("en-US")} bytes with SHA-256 ` +
                      `${hash.slice(0, 16)}…; it sent ${r.blob.size.toLocaleString("en-US")} bytes)`, blob: null, cached: false };
    }
    if (cache) {
      try { await cache.put(address, new Response(r.blob, { headers: { "content-type": "text/plain" } })); } catch (e) { /* kept or not */ }
    }
    return { error: "", blob: r.blob, cached: false };
  }

  // -- the clipboard and the QR code -----------------------------------------------------------------------
  async function copy(text, fieldId) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch (e) {
      const field = document.getElementById(fieldId);
      field.focus();
      field.select();
      return false;
    }
  }

  // the QR code of `text` as SVG elements in the element `id`; "" or why there is none
  function qr(id, text) {
    const box = document.getElementById(id);
    box.textContent = "";
    let code;
    try {
      qrcode.stringToBytes = qrcode.stringToBytesFuncs["UTF-8"];
      code = qrcode(0, "L");
      code.addData(text, "Byte");
      code.make();
    } catch (e) {
      return "too long for a QR code";
    }
    const n = code.getModuleCount(), quiet = 4, size = n + 2 * quiet;
    let d = "";
    for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) if (code.isDark(y, x)) d += `M${x + quiet} ${y + quiet}h1v1h-1z`;
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", `0 0 ${size} ${size}`);
    svg.setAttribute("shape-rendering", "crispEdges");
    svg.setAttribute("aria-hidden", "true");
    const bg = document.createElementNS(ns, "rect");
    bg.setAttribute("width", size);
    bg.setAttribute("height", size);
    bg.setAttribute("fill", "#fff");
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "#000");
    svg.append(bg, path);
    box.appendChild(svg);
    return "";
  }

  // true while this page is shown inside a frame of another site, which could lay its own page over ours and
  // trick the clicks that load a link's or a file's code (clickjacking); false in its own tab or in a frame of its
  // own site. (A host that can send headers forbids such frames outright: frame-ancestors 'none', README.)
  function framedByAnotherSite() {
    try {
      if (window.top === window.self) return false;
      return window.top.location.origin !== location.origin;  // another origin's location cannot be read: throws
    } catch (e) {
      return true;
    }
  }

  window.shareLink = {
    parse, linkFor,
    base: () => new URL("./", document.baseURI).href,  // the site's folder (the fragment left in JavaScript)
    host: (address) => { try { return new URL(address, document.baseURI).host; } catch (e) { return ""; } },
    write(pairsJson) { history.replaceState(history.state, "", linkFor(pairsJson)); return location.href; },
    pack, unpack, fetchText, fetchKept, copy, qr, framedByAnotherSite,
  };
})();
