// The training worker, watched (window.trainerWorkers, which the MicroPython side reaches through `js`): its
// start and restart, the deadlines of its calls, and the errors no one caught while the page starts.
"use strict";

(() => {
  // The training worker, watched. PyScript starts a worker for every <script type="py" worker> in the page:
  // a restart clones the first one under a new name. A call that does not answer by its deadline means the
  // worker is gone (crashed, out of memory, closed); after an error event the page asks it whether it answers.
  // Errors no one caught while the page starts (a script that failed to load, a library that threw): a step
  // of start-up that waits for something that will then never come can end with them (trainerWorkers.ready).
  const uncaught = [];
  const listeners = [];
  const caught = (text) => { uncaught.push(text); for (const f of listeners) f(text); };
  window.addEventListener("error", (e) => caught(e.error && e.error.message ? e.error.message : String(e.message)));
  window.addEventListener("unhandledrejection", (e) => caught(e.reason && e.reason.message ? e.reason.message : String(e.reason)));

  window.trainerWorkers = {
    // PyScript's promise of the worker `name` (workers[name]), or a failure: the worker's script could not be
    // fetched (PyScript reports it as an uncaught error naming the script), or no worker after `ms`
    ready(promise, name, ms) {
      const script = document.querySelector(`script[name="${name}"]`);
      const src = script ? script.getAttribute("src") || "" : "";
      let timer, listener;
      const failed = new Promise((_, reject) => {
        const names = (text) => src && text.includes(src);
        const early = uncaught.find(names);
        if (early) { reject(new Error(early)); return; }
        listener = (text) => { if (names(text)) reject(new Error(text)); };
        listeners.push(listener);
        timer = setTimeout(() => reject(new Error(`the Python worker did not start within ${ms / 1000} s` +
          (uncaught.length ? ` (errors: ${uncaught.slice(0, 3).join("; ")})` : ""))), ms);
      });
      return Promise.race([promise, failed]).finally(() => {
        clearTimeout(timer);
        const i = listeners.indexOf(listener);
        if (i >= 0) listeners.splice(i, 1);
      });
    },
    start(name) {
      const first = document.querySelector('script[type="py"][worker]');
      const script = document.createElement("script");
      for (const attr of first.attributes) script.setAttribute(attr.name, attr.value);
      script.setAttribute("name", name);
      document.body.appendChild(script);
    },
    gone: {},  // worker name -> a promise that fails when the worker reports an error, or is killed
    kills: {},  // worker name -> fail its `gone` promise (kill)
    stoppers: {},  // worker name -> end it, for a worker that is not PyScript's (sandbox.js's)
    // onError(): the worker reported an error event. An error thrown in its global scope leaves Python alive, so
    // the page (client.py) checks whether it still answers rather than call it gone.
    watch(name, onError) {
      const script = document.querySelector(`script[name="${name}"]`);
      this.gone[name] = new Promise((_, reject) => { this.kills[name] = reject; });
      this.gone[name].catch(() => {});  // only calls under way care
      if (script && script.xworker) script.xworker.addEventListener("error", (event) => {
        event.preventDefault();  // not an error of the page's
        event.stopImmediatePropagation();
        console.warn("the Python worker reported an error:", event.message || event.error || event);
        onError();
      });
    },
    // a worker that is not PyScript's (sandbox.js's: start it first): its end (onGone(why)) fails the calls
    // under way, as an error event of a PyScript worker does
    watchOther(name, worker, onGone) {
      this.gone[name] = new Promise((_, reject) => { this.kills[name] = reject; });
      this.gone[name].catch(() => {});
      this.stoppers[name] = (why) => worker.stop(why);
      worker.watch((why) => {
        onGone(why);
        this.kills[name](new Error(`no answer: ${why}`));
      });
    },
    stop(name, why) {
      if (this.stoppers[name]) return this.stoppers[name](why);
      const script = document.querySelector(`script[name="${name}"]`);
      if (script && script.xworker) script.xworker.terminate();
    },
    // terminate it now (the Code panel's Stop, a step past its limit): calls under way fail with `why`
    kill(name, why) {
      this.stop(name, why);
      if (this.kills[name]) this.kills[name](new Error(`no answer: ${why}`));
    },
    deadline(name, promise, ms) {
      let timer;
      const late = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error("no answer")), ms); });
      return Promise.race([promise, late, this.gone[name]]).finally(() => clearTimeout(timer));
    },
  };
})();
