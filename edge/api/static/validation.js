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
    if (response.status === 401) { location.href = loginURL(); throw new Error("logged out"); }
    let data = null;
    try { data = response.status === 204 ? null : await response.json(); } catch (error) { /* not JSON */ }
    return { status: response.status, ok: response.ok, data };
  }

  function detail(result) {
    const value = result.data && result.data.detail;
    if (typeof value === "string") return deviceText(value);
    if (Array.isArray(value)) return t("problem.device", { detail: value.map((item) => item.msg).join("; ") });
    return t("run.answered", { status: result.status });
  }

  // The device's messages (edge/validation/session.py), in the page's language; an unknown one as it is.
  const DEVICE_TEXTS = [
    [/^no validation is running$/, () => t("device.none_running")],
    [/^a validation of line '([^']*)' is running; stop or cancel it first$/, (m) => t("device.already_running", { line: m[1] })],
    [/^unknown line '([^']*)' \(calibrated lines: (.*)\)$/, (m) => t("device.unknown_line", { line: m[1], lines: m[2] })],
  ];

  const CANCEL_REASONS = { "the calibration changed while it ran": "cancel.calibration", "cancelled by the technician": "cancel.technician" };

  function endedText(result) {
    // The device's detail reads "no validation is running: the last one was cancelled: <reason>".
    const raw = result.data && typeof result.data.detail === "string" ? result.data.detail : "";
    const cancelled = raw.match(/cancelled: (.+)$/);
    if (!cancelled) return t("run.ended", { why: detail(result) });
    const known = CANCEL_REASONS[cancelled[1]];
    return t("run.device_cancelled", { reason: known ? t(known) : t("problem.device", { detail: cancelled[1] }) });
  }

  function deviceText(text) {
    for (const [pattern, render] of DEVICE_TEXTS) {
      const match = text.match(pattern);
      if (match) return render(match);
    }
    return t("problem.device", { detail: text });
  }

  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const people = (n) => I18N.plural("run.people", n);
  const signed = (n) => (n > 0 ? `+${n}` : n < 0 ? `−${-n}` : "0");
  const percent = (x) => t("unit.percent", { value: I18N.number(x * 100) }); // accuracy, as on the health page
  const share = (x) => t("unit.percent", { value: Number((x * 100).toFixed(1)).toLocaleString(I18N.locale) }); // tolerance: 10 %, 12.5 %

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
    if (!lines.length) say("validate-message", t("validate.no_line"), "error");
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
    const needed = total < minPeople ? t("run.needed", { n: minPeople - total }) : "";
    $("tally").textContent = t("run.tally", { people: people(total), in: run.in, out: run.out, needed });
    $("undo").disabled = run.taps.length === 0;
    $("undo").textContent = run.taps.length ? t(`run.undo_${run.taps[run.taps.length - 1]}`) : t("run.undo");
    $("show-device").setAttribute("aria-pressed", String(run.showDevice));
    $("show-device").textContent = t(run.showDevice ? "run.hide_device" : "run.device");
    $("device-live").hidden = !run.showDevice;
    $("device-live").textContent = t("run.device_so_far", { in: device.in, out: device.out });
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
    syncState(t("run.sending"), "busy");
    try {
      while (dirty && run && !finishing) {
        dirty = false;
        const id = run.id, totals = { reference_in: run.in, reference_out: run.out };
        let result;
        try { result = await api("PUT", "/api/validations/current/reference", totals); } catch (error) { result = null; }
        if (!run || run.id !== id || finishing) break;
        if (result && result.ok) { heard(result.data); render(); continue; }
        if (result && result.status === 409) { lost(endedText(result)); break; }
        syncState(t("run.retrying"), "error");
        dirty = true;
        await sleep(RETRY_MS);
      }
      if (run && !dirty) syncState(t("run.synced"), "ok");
    } finally {
      sending = false;
    }
  }

  async function poll() {
    if (!run || finishing) return;
    const id = run.id;
    let result;
    try { result = await running(); } catch (error) { return; }
    if (!run || run.id !== id || finishing) return;
    if (result.ok && result.data && result.data.validation_id === id) { heard(result.data); render(); }
    else if (result.ok) await vanished(id);
  }

  async function running() {
    // {ok, status, data: the running validation's progress, or null when none runs}.
    const result = await api("GET", "/api/validations/running");
    return { ...result, data: result.ok ? result.data.current : null };
  }

  async function vanished(id) {
    // Finished from another tab, or cancelled (e.g. the calibration changed): say which.
    const record = await findRecord(id);
    if (record) { end(); showResult(record); } else lost(t("run.ended", { why: t("run.vanished") }));
  }

  async function findRecord(id) {
    try {
      const result = await api("GET", "/api/validations?limit=20");
      return result.ok ? result.data.find((record) => record.validation_id === id) || null : null;
    } catch (error) {
      return null;
    }
  }

  function lost(told) {
    const counted = run ? t("run.kept_count", { in: run.in, out: run.out }) : "";
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
      say("validate-message", t("validate.unsaved"), "error");
      return;
    }
    const body = { line_id: $("validate-line").value, operator: $("validate-operator").value.trim() };
    $("validate-start").disabled = true;
    try {
      const result = await api("POST", "/api/validations/current", body);
      if (result.status === 201) { say("validate-message", ""); begin(result.data, { in: 0, out: 0 }); window.scrollTo(0, 0); }
      else say("validate-message", t("validate.not_started", { detail: detail(result) }), "error");
    } catch (error) {
      say("validate-message", t("validate.not_started", { detail: t("run.not_answering") }), "error");
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
      else if (result.status === 409) lost(endedText(result));
      else syncState(t("run.not_stopped", { detail: detail(result) }), "error");
    } catch (error) {
      syncState(t("run.not_stopped", { detail: t("run.not_answering") }), "error");
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
        say("validate-message", t("run.cancelled"), "ok");
      } else syncState(t("run.not_cancelled", { detail: detail(result) }), "error");
    } catch (error) {
      syncState(t("run.not_cancelled", { detail: t("run.not_answering") }), "error");
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
      return t("result.blind", { coverage: percent(record.coverage), needed: percent(MIN_COVERAGE) });
    }
    if (record.verdict === "inconclusive") {
      return t("result.few", { people: people(counted), enough, tolerance });
    }
    const off = t("result.off", { error: record.error.total, people: people(counted), accuracy: percent(record.accuracy) });
    return t(record.verdict === "pass" ? "result.pass_sentence" : "result.fail_sentence", { off, tolerance, enough });
  }

  function blind(record) {
    return record.coverage !== null && record.coverage !== undefined && record.coverage < MIN_COVERAGE;
  }

  function span(record) {
    const start = new Date(record.started_at), stop = new Date(record.ended_at);
    return `${I18N.date(start)} ${I18N.time(start, true)}–${I18N.time(stop, true)} (${minutes(record.duration_s)})`;
  }

  function cell(row, text, tag = "td") {
    row.appendChild(Object.assign(document.createElement(tag), { textContent: text }));
  }

  function showResult(record) {
    const panel = $("result");
    panel.innerHTML = `<h2 id="result-title"></h2><p class="result-verdict"><span class="badge"></span> <span class="sentence"></span></p>
      <table class="compare"><thead><tr><th scope="col" data-i18n="result.direction"></th><th scope="col" data-i18n="result.hand"></th><th scope="col" data-i18n="result.device"></th><th scope="col" data-i18n="result.error"></th></tr></thead><tbody></tbody></table>
      <p class="hint" data-i18n="result.error_rule"></p><p class="accuracy"></p><p class="hint span"></p><p class="hint evidence"></p><button type="button" class="primary" data-i18n="result.done"></button>`;
    I18N.apply(panel);
    panel.querySelector("h2").textContent = t("result.title", { line: record.line_id });
    const badge = panel.querySelector(".badge");
    badge.textContent = t(`result.${record.verdict}`);
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
      cell(row, t(`dir.${direction}`), "th");
      [hand, counted, error].forEach((value) => cell(row, String(value)));
    }
    panel.querySelector(".accuracy").textContent = t("result.accuracy", { accuracy: record.accuracy === null ? "–" : percent(record.accuracy) });
    const seen = record.coverage === null || record.coverage === undefined ? "" : t("result.looking", { coverage: percent(record.coverage) });
    const by = record.operator ? t("result.by", { operator: record.operator }) : "";
    panel.querySelector(".span").textContent = `${span(record)}${by}${seen}`;
    panel.querySelector(".evidence").textContent = t("result.evidence", { software: record.software_version, model: record.model.name, calibration: record.calibration_version });
    panel.querySelector("button").addEventListener("click", () => { panel.hidden = true; });
    panel.hidden = false;
    panel.scrollIntoView({ block: "start" });
    panel.focus({ preventScroll: true });
  }

  // ---- resume after a reload or a locked phone ---------------------------------------------------
  async function resume() {
    const local = stored();
    let result;
    try { result = await running(); } catch (error) { return; }
    if (result.ok && result.data) {
      const progress = result.data;
      // This phone's totals when it is the same validation; else the device's copy of the hand count.
      const mine = local && local.id === progress.validation_id;
      begin(progress, mine ? local : progress.reference);
      if (mine) send();
      else if (local) say("message", t("run.other_validation"), "error");
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
    t("confirm.stop", { in: run.in, out: run.out }), t("confirm.stop_yes"), stop));
  $("cancel").addEventListener("click", () => confirmThen(
    t("confirm.cancel"), t("confirm.cancel_yes"), cancel));
  document.addEventListener("calibration-loaded", fillLines);
  if (savedJSON) fillLines(); // the calibration came in before this script ran
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && run) { keepAwake(); poll(); if (!sending) send(); }
  });
  resume();
})();
