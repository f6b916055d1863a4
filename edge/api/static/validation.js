"use strict";
// Validation mode of the calibration page: the technician counts one line by hand with two big
// buttons while the device counts it too; Stop shows both side by side with the device's verdict.
// The hand count is sent as running totals (PUT, idempotent) and kept in localStorage, so a reload
// or a locked phone loses nothing. Uses calibration.js's globals: model, saved, focusLine, W, H,
// drawOverlay, inArrow, unsavedEdits.
(() => {
  const STORE_KEY = "footfall-validation";
  const POLL_MS = 2000; // progress (elapsed time, device count) and "is it still running?"
  const RETRY_MS = 2000; // after a failed send of the hand count
  const MAX_UNDO = 500; // taps remembered for undo
  const $ = (id) => document.getElementById(id);
  let run = null; // {id, line, operator, in, out, taps, showDevice}
  let device = { in: 0, out: 0 };
  let clock = { elapsed_s: 0, at: 0 }; // the device's elapsed time and when we heard it
  let minPeople = 0; // fewer hand-counted crossings than this give an inconclusive verdict
  const MIN_COVERAGE = 0.8; // edge.records.MIN_VALIDATION_COVERAGE: the device must see 80 % of the span
  let sending = false, dirty = false, finishing = false;
  let timers = [];
  let wakeLock = null;

  async function api(method, url, body) {
    const options = { method, credentials: "same-origin", cache: "no-store" };
    if (body !== undefined) {
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify(body);
    }
    const response = await fetch(url, options);
    if (response.status === 401) { location.href = "/login"; throw new Error("logged out"); }
    let data = null;
    try { data = response.status === 204 ? null : await response.json(); } catch (error) { /* not JSON */ }
    return { status: response.status, ok: response.ok, data };
  }

  function detail(result) {
    const value = result.data && result.data.detail;
    if (typeof value === "string") return value;
    if (Array.isArray(value)) return value.map((item) => item.msg).join("; ");
    return `the device answered ${result.status}`;
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const people = (n) => `${n} ${n === 1 ? "person" : "people"}`;
  const signed = (n) => (n > 0 ? `+${n}` : n < 0 ? `−${-n}` : "0");
  const percent = (x) => `${(x * 100).toFixed(1)} %`; // accuracy, as on the health page
  const share = (x) => `${Number((x * 100).toFixed(1))} %`; // tolerance: 10 %, 12.5 %

  function say(id, text, kind = "") {
    $(id).textContent = text;
    $(id).className = kind;
  }

  function minutes(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), rest = String(s % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
  }

  // ---- the phone's copy of the hand count -------------------------------------------------------
  function persist() {
    try { localStorage.setItem(STORE_KEY, JSON.stringify(run)); } catch (error) { /* private mode: the device has the totals */ }
  }

  function stored() {
    try { return JSON.parse(localStorage.getItem(STORE_KEY) || "null"); } catch (error) { return null; }
  }

  function forget() {
    try { localStorage.removeItem(STORE_KEY); } catch (error) { /* nothing kept */ }
  }

  // ---- the line picker -----------------------------------------------------------------------------
  function fillLines() {
    const select = $("validate-line");
    const chosen = select.value;
    const lines = model.lines.filter((line) => saved.has(line.id));
    select.replaceChildren(...lines.map((line) => new Option(line.id, line.id, false, line.id === chosen)));
    $("validate-start").disabled = lines.length === 0;
    if (!lines.length) say("validate-message", "No line is calibrated yet: draw one, save it, then validate it.", "error");
    if (run) { focusLine = run.line; drawOverlay(); pointArrows(); }
  }

  function pointArrows() {
    // The buttons' arrows point the way the line's `in` arrow points on the snapshot.
    const line = run && model.lines.find((item) => item.id === run.line);
    if (!line) return;
    const [x1, y1, x2, y2] = inArrow(line.a, line.b);
    const degrees = (Math.atan2((y2 - y1) * H, (x2 - x1) * W) * 180) / Math.PI;
    $("tap-in").querySelector(".arrow").style.transform = `rotate(${degrees}deg)`;
    $("tap-out").querySelector(".arrow").style.transform = `rotate(${degrees + 180}deg)`;
  }

  // ---- counting ----------------------------------------------------------------------------------
  function begin(progress, local) {
    run = {
      id: progress.validation_id,
      line: progress.line_id,
      operator: progress.operator,
      in: local.in,
      out: local.out,
      taps: local.taps || [],
      showDevice: Boolean(local.showDevice),
    };
    heard(progress);
    persist();
    document.body.classList.add("validating");
    $("run").hidden = false;
    $("tapbar").hidden = false;
    $("result").hidden = true;
    $("run-line").textContent = run.line;
    say("message", "");
    focusLine = run.line;
    drawOverlay();
    pointArrows();
    render();
    timers = [setInterval(poll, POLL_MS), setInterval(tick, 1000)];
    keepAwake();
  }

  function end() {
    run = null;
    forget();
    timers.forEach(clearInterval);
    timers = [];
    document.body.classList.remove("validating");
    $("run").hidden = true;
    $("tapbar").hidden = true;
    focusLine = null;
    drawOverlay();
    if (wakeLock) { wakeLock.release().catch(() => {}); wakeLock = null; }
  }

  function heard(progress) {
    clock = { elapsed_s: progress.elapsed_s, at: performance.now() };
    device = progress.device;
    minPeople = progress.min_people || 0;
    tick();
  }

  function tick() {
    $("elapsed").textContent = minutes(clock.elapsed_s + (performance.now() - clock.at) / 1000);
  }

  function render() {
    $("count-in").textContent = run.in;
    $("count-out").textContent = run.out;
    const total = run.in + run.out;
    const needed = total < minPeople ? `, ${minPeople - total} more for a verdict` : "";
    $("tally").textContent = `By hand: ${people(total)} (in ${run.in} · out ${run.out})${needed}`;
    $("undo").disabled = run.taps.length === 0;
    $("undo").textContent = run.taps.length ? `Undo ${run.taps[run.taps.length - 1]}` : "Undo";
    $("show-device").setAttribute("aria-pressed", String(run.showDevice));
    $("show-device").textContent = run.showDevice ? "Hide device" : "Device";
    $("device-live").hidden = !run.showDevice;
    $("device-live").textContent = `Device so far: in ${device.in} · out ${device.out}`;
  }

  function tap(direction) {
    if (!run) return;
    run[direction] += 1;
    run.taps = [...run.taps.slice(1 - MAX_UNDO), direction];
    changed(25);
  }

  function undo() {
    if (!run || !run.taps.length) return;
    const direction = run.taps.pop();
    run[direction] = Math.max(0, run[direction] - 1);
    changed([15, 60, 15]);
  }

  function changed(pattern) {
    persist();
    render();
    if (navigator.vibrate) navigator.vibrate(pattern);
    send();
  }

  function syncState(text, kind) {
    $("sync").textContent = text;
    $("sync").className = `sync ${kind}`;
  }

  async function send() {
    // One request at a time, always the newest totals: a late answer never undoes a tap.
    dirty = true;
    if (sending) return;
    sending = true;
    syncState("sending…", "busy");
    try {
      while (dirty && run && !finishing) {
        dirty = false;
        const id = run.id, totals = { reference_in: run.in, reference_out: run.out };
        let result;
        try { result = await api("PUT", "/api/validations/current/reference", totals); } catch (error) { result = null; }
        if (!run || run.id !== id || finishing) break;
        if (result && result.ok) { heard(result.data); render(); continue; }
        if (result && result.status === 409) { lost(detail(result)); break; }
        syncState("not reaching the device: kept on this phone, retrying", "error");
        dirty = true;
        await sleep(RETRY_MS);
      }
      if (run && !dirty) syncState("✓ saved on the device", "ok");
    } finally {
      sending = false;
    }
  }

  async function poll() {
    if (!run || finishing) return;
    const id = run.id;
    let result;
    try { result = await api("GET", "/api/validations/current"); } catch (error) { return; }
    if (!run || run.id !== id || finishing) return;
    if (result.ok && result.data.validation_id === id) { heard(result.data); render(); }
    else if (result.status === 404 || result.ok) await vanished(id);
  }

  async function vanished(id) {
    // Finished from another tab, or cancelled (e.g. the calibration changed): say which.
    const record = await findRecord(id);
    if (record) { end(); showResult(record); } else lost("it is no longer running there (cancelled from another page, or the calibration changed)");
  }

  async function findRecord(id) {
    try {
      const result = await api("GET", "/api/validations?limit=20");
      return result.ok ? result.data.find((record) => record.validation_id === id) || null : null;
    } catch (error) {
      return null;
    }
  }

  function lost(why) {
    // The device's detail reads "no validation is running: the last one was cancelled: <reason>".
    const cancelled = why.match(/cancelled: (.+)$/);
    const told = cancelled ? `The device cancelled this validation: ${cancelled[1]}.` : `The device ended this validation without a result: ${why}.`;
    const counted = run ? ` Your hand count was in ${run.in} · out ${run.out}; nothing was stored.` : "";
    end();
    say("validate-message", told + counted, "error");
    $("validate").scrollIntoView({ block: "nearest" });
  }

  function keepAwake() {
    // Keeps the screen on while counting, where the browser allows it (HTTPS only).
    if (!run || wakeLock || !navigator.wakeLock) return;
    navigator.wakeLock.request("screen").then((lock) => {
      wakeLock = lock;
      lock.addEventListener("release", () => { wakeLock = null; });
    }).catch(() => {});
  }

  // ---- start, stop, cancel ---------------------------------------------------------------------
  async function start(event) {
    event.preventDefault();
    if (unsavedEdits()) {
      say("validate-message", "Save (or reload to drop) your changes first: a validation checks the calibration in force on the device.", "error");
      return;
    }
    const body = { line_id: $("validate-line").value, operator: $("validate-operator").value.trim() };
    $("validate-start").disabled = true;
    try {
      const result = await api("POST", "/api/validations/current", body);
      if (result.status === 201) { say("validate-message", ""); begin(result.data, { in: 0, out: 0 }); window.scrollTo(0, 0); }
      else say("validate-message", `Not started: ${detail(result)}.`, "error");
    } catch (error) {
      say("validate-message", "Not started: the device is not answering.", "error");
    } finally {
      $("validate-start").disabled = false;
    }
  }

  function confirmThen(text, yes, action) {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-yes").textContent = yes;
    dialog.returnValue = "";
    dialog.addEventListener("close", () => { if (dialog.returnValue === "yes") action(); }, { once: true });
    dialog.showModal();
  }

  async function stop() {
    if (!run) return;
    finishing = true;
    const totals = { reference_in: run.in, reference_out: run.out };
    try {
      const result = await api("POST", "/api/validations/current/finish", totals);
      if (result.status === 201) { end(); showResult(result.data); }
      else if (result.status === 409) lost(detail(result));
      else syncState(`Not stopped (${detail(result)}): your count is kept, press Stop again`, "error");
    } catch (error) {
      syncState("Not stopped: the device is not answering; your count is kept, press Stop again", "error");
    } finally {
      finishing = false;
    }
  }

  async function cancel() {
    if (!run) return;
    finishing = true;
    try {
      const result = await api("DELETE", "/api/validations/current");
      if (result.status === 204 || result.status === 404) {
        end();
        say("validate-message", "Validation cancelled: nothing was stored.", "ok");
      } else syncState(`Not cancelled (${detail(result)})`, "error");
    } catch (error) {
      syncState("Not cancelled: the device is not answering", "error");
    } finally {
      finishing = false;
    }
  }

  // ---- the result --------------------------------------------------------------------------------
  function verdictSentence(record) {
    // One sentence with the rule: enough people counted by hand, then an error within the tolerance.
    const counted = record.reference.in + record.reference.out;
    const tolerance = share(record.tolerance), enough = people(record.min_people);
    if (record.verdict === "inconclusive" && counted >= record.min_people && blind(record)) {
      return `Inconclusive: the device only saw ${percent(record.coverage)} of the time (the camera stalled or failed; a verdict needs ${percent(MIN_COVERAGE)}), so check the camera and count again.`;
    }
    if (record.verdict === "inconclusive") {
      return `Inconclusive: only ${people(counted)} counted by hand; a verdict needs at least ${enough} (then an error of at most ${tolerance} passes), so count for longer.`;
    }
    const off = `the device was off by ${record.error.total} of ${people(counted)} (${percent(record.accuracy)} accurate)`;
    if (record.verdict === "pass") return `Pass: ${off}, within the ${tolerance} tolerance, with at least ${enough} counted by hand.`;
    return `Fail: ${off}, more than the ${tolerance} tolerance allows (with at least ${enough} counted by hand).`;
  }

  function blind(record) {
    return record.coverage !== null && record.coverage !== undefined && record.coverage < MIN_COVERAGE;
  }

  function span(record) {
    const start = new Date(record.started_at), stop = new Date(record.ended_at);
    const time = (when) => when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
    return `${start.toLocaleDateString()} ${time(start)}–${time(stop)} (${minutes(record.duration_s)})`;
  }

  function cell(row, text, tag = "td") {
    row.appendChild(Object.assign(document.createElement(tag), { textContent: text }));
  }

  function showResult(record) {
    const panel = $("result");
    panel.innerHTML = `<h2 id="result-title"></h2><p class="result-verdict"><span class="badge"></span> <span class="sentence"></span></p>
      <table class="compare"><thead><tr><th scope="col">Direction</th><th scope="col">Hand</th><th scope="col">Device</th><th scope="col">Error</th></tr></thead><tbody></tbody></table>
      <p class="hint">Error: device minus hand per direction; total: the two errors without their signs, added.</p><p class="accuracy"></p><p class="hint span"></p><p class="hint evidence"></p><button type="button" class="primary">Done</button>`;
    panel.querySelector("h2").textContent = `Result: line ${record.line_id}`;
    const badge = panel.querySelector(".badge");
    badge.textContent = record.verdict;
    badge.className = `badge ${record.verdict}`;
    panel.querySelector(".sentence").textContent = verdictSentence(record);
    const rows = [
      ["in", record.reference.in, record.device.in, signed(record.error.in)],
      ["out", record.reference.out, record.device.out, signed(record.error.out)],
      ["total", record.reference.in + record.reference.out, record.device.in + record.device.out, String(record.error.total)],
    ];
    const body = panel.querySelector("tbody");
    for (const [direction, hand, counted, error] of rows) {
      const row = body.insertRow();
      row.dataset.direction = direction;
      cell(row, direction, "th");
      [hand, counted, error].forEach((value) => cell(row, String(value)));
    }
    panel.querySelector(".accuracy").textContent = `Accuracy: ${record.accuracy === null ? "–" : percent(record.accuracy)}`;
    const seen = record.coverage === null || record.coverage === undefined ? "" : ` · device looking ${percent(record.coverage)} of the time`;
    panel.querySelector(".span").textContent = `${span(record)}${record.operator ? ` · by ${record.operator}` : ""}${seen}`;
    panel.querySelector(".evidence").textContent = `Stored on the device as evidence (listed on the Health page, sent to the city server): software ${record.software_version}, model ${record.model.name}, calibration ${record.calibration_version}.`;
    panel.querySelector("button").addEventListener("click", () => { panel.hidden = true; });
    panel.hidden = false;
    panel.scrollIntoView({ block: "start" });
    panel.focus({ preventScroll: true });
  }

  // ---- resume after a reload or a locked phone ---------------------------------------------------
  async function resume() {
    const local = stored();
    let result;
    try { result = await api("GET", "/api/validations/current"); } catch (error) { return; }
    if (result.ok) {
      const progress = result.data;
      // This phone's totals when it is the same validation; else the device's copy of the hand count.
      const mine = local && local.id === progress.validation_id;
      begin(progress, mine ? local : progress.reference);
      if (mine) send();
      else if (local) say("message", "A different validation is running on the device: continuing it with its hand count.", "error");
    } else if (local && local.id) {
      run = local;
      await vanished(local.id);
    }
  }

  $("validate-form").addEventListener("submit", start);
  $("tap-in").addEventListener("click", () => tap("in"));
  $("tap-out").addEventListener("click", () => tap("out"));
  $("undo").addEventListener("click", undo);
  $("show-device").addEventListener("click", () => { run.showDevice = !run.showDevice; persist(); render(); });
  $("stop").addEventListener("click", () => confirmThen(
    `Stop and compare? You counted in ${run.in} · out ${run.out}.`, "Stop and compare", stop));
  $("cancel").addEventListener("click", () => confirmThen(
    "Cancel this validation? Nothing will be stored.", "Cancel validation", cancel));
  document.addEventListener("calibration-loaded", fillLines);
  if (savedJSON) fillLines(); // the calibration came in before this script ran
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && run) { keepAwake(); poll(); if (!sending) send(); }
  });
  resume();
})();
