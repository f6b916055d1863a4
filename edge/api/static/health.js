"use strict";
// Device health: polls /api/status every 3 s, /api/counts and /api/validations every 30 s; draws its own SVG chart.
const VERDICTS = { green: "Counting normally", amber: "Degraded: check the reasons", red: "Counts are being lost" };

function text(value, unit = "", digits = 1) {
  if (value === null || value === undefined) return "unknown";
  if (typeof value === "number") return `${value.toFixed(digits)}${unit}`;
  return String(value);
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "unknown";
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} days`;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function figure(label, value) {
  const box = document.createElement("div");
  box.className = "figure";
  box.innerHTML = '<div class="label"></div><div class="value"></div>';
  box.querySelector(".label").textContent = label;
  box.querySelector(".value").textContent = value;
  return box;
}

async function getJSON(url) {
  const response = await fetch(url, { credentials: "same-origin", cache: "no-store" });
  if (response.status === 401) { location.href = "/login"; throw new Error("logged out"); }
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  return response.json();
}

async function refreshStatus() {
  try {
    const s = await getJSON("/api/status");
    document.getElementById("title").textContent = `footfall-edge · ${s.site_id} / ${s.device_id}`;
    document.getElementById("dot").className = `dot ${s.health}`;
    document.getElementById("verdict").textContent = VERDICTS[s.health];
    const reasons = document.getElementById("reasons");
    reasons.replaceChildren(...s.reasons.map((r) => Object.assign(document.createElement("li"), { textContent: r })));
    const gb = s.disk_free_bytes === null ? null : s.disk_free_bytes / 1e9;
    document.getElementById("figures").replaceChildren(
      figure("Camera", s.camera_state + (s.camera_detail ? `: ${s.camera_detail}` : "")),
      figure("Last frame", text(s.last_frame_age_s, " s ago")),
      figure("Frame rate", text(s.fps, " frames/s")),
      figure("Detector", text(s.detector_ms, " ms/frame")),
      figure("Last interval observed", s.last_coverage === null ? "unknown" : `${Math.round(s.last_coverage * 100)} %`),
      figure("Broker", s.broker_state + (s.broker_detail ? `: ${s.broker_detail}` : "")),
      figure("Waiting to send", s.outbox_backlog === null ? "unknown" : `${s.outbox_backlog} intervals`),
      figure("Oldest waiting", s.outbox_backlog === 0 ? "nothing waiting" : duration(s.outbox_oldest_s)),
      figure("CPU temperature", text(s.temperature_c, " °C", 0)),
      figure("Throttled", s.throttled === null ? "unknown" : s.throttled ? "yes" : "no"),
      figure("Disk free", text(gb, " GB")),
      figure("Uptime", duration(s.uptime_s)),
      figure("Model", `${s.model_name} (${s.model_licence})`),
      figure("Software", s.software_version),
      figure("Privacy", `${s.privacy_masks} masks · snapshots ${s.snapshots_enabled ? "on" : "off"} · suppress < ${s.suppress_below || "off"}`),
    );
  } catch (error) {
    document.getElementById("verdict").textContent = `Device not answering (${error.message})`;
    document.getElementById("dot").className = "dot red";
  }
}

let shown = []; // the intervals on the chart, redrawn at the new size when the page is resized

async function refreshChart() {
  shown = await getJSON("/api/counts?limit=240");
  drawChart(shown);
}

function drawChart(intervals) {
  const svg = document.getElementById("chart");
  const width = svg.clientWidth || 600, height = svg.clientHeight || 160;
  const axis = 18; // room for the time labels under the bars
  const ins = intervals.map((i) => i.lines.reduce((sum, l) => sum + l.in, 0));
  const outs = intervals.map((i) => i.lines.reduce((sum, l) => sum + l.out, 0));
  const totals = ins.map((value, k) => value + outs[k]);
  const peak = Math.max(1, ...totals);
  const step = width / Math.max(totals.length, 1);
  const base = height - axis;
  const bars = totals.map((total, k) => {
    const h = (total / peak) * (base - 20);
    const interval = intervals[k];
    const dim = interval.quality.coverage < 0.8 ? ' fill-opacity="0.35"' : "";
    const title = `${clock(interval.start)}–${clock(interval.end)}: ${total} people (in ${ins[k]}, out ${outs[k]}), observed ${Math.round(interval.quality.coverage * 100)} %`;
    return `<rect x="${k * step}" y="${base - h}" width="${Math.max(step - 1, 1)}" height="${h}" fill="#2b6cb0"${dim}><title>${title}</title></rect>`;
  });
  const ticks = intervals.length ? [0, Math.floor(intervals.length / 2), intervals.length - 1] : [];
  const labels = [...new Set(ticks)].map((k, n, all) => {
    const anchor = all.length > 1 && n === all.length - 1 ? "end" : n === 0 ? "start" : "middle";
    const x = anchor === "end" ? width : anchor === "start" ? 0 : k * step + step / 2;
    const when = anchor === "end" ? intervals[k].end : intervals[k].start;
    return `<text x="${x}" y="${height - 4}" font-size="12" fill="#5a6478" text-anchor="${anchor}">${clock(when)}</text>`;
  });
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.innerHTML = bars.join("") + `<line x1="0" y1="${base}" x2="${width}" y2="${base}" stroke="#d5dae3"></line>` + labels.join("")
    + `<text x="4" y="14" font-size="12" fill="#5a6478">max ${peak} people / interval</text>`;
  document.getElementById("chart-note").textContent = intervals.length
    ? `People crossing all lines per interval (in + out), ${intervals.length} intervals, local time; pale bars: the camera saw less than 80 % of the interval.`
    : "No interval closed yet.";
}

const VALIDATION_COLUMNS = ["When", "Line", "By hand in · out", "Device in · out", "Accuracy", "Verdict", "By"];
let validationsShown = "";

async function refreshValidations() {
  const records = await getJSON("/api/validations?limit=20");
  const key = JSON.stringify(records);
  if (key === validationsShown) return; // unchanged: leave the table (and any selection) alone
  validationsShown = key;
  const holder = document.getElementById("validations");
  if (!records.length) {
    holder.replaceChildren(Object.assign(document.createElement("p"), { className: "hint", textContent: "No validation yet." }));
    return;
  }
  const table = document.createElement("table");
  table.className = "history";
  const head = table.createTHead().insertRow();
  for (const name of VALIDATION_COLUMNS) head.appendChild(Object.assign(document.createElement("th"), { scope: "col", textContent: name }));
  const body = table.createTBody();
  for (const record of records) validationRow(body.insertRow(), record);
  holder.replaceChildren(table);
}

function validationRow(row, record) {
  const ended = new Date(record.ended_at);
  row.dataset.validation = record.validation_id;
  row.title = `${record.mode}, ${Math.round(record.duration_s / 60)} min, error in ${record.error.in}, out ${record.error.out}; software ${record.software_version}, calibration ${record.calibration_version}`;
  const when = `${ended.toLocaleDateString()} ${ended.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
  const accuracy = record.accuracy === null ? "–" : `${(record.accuracy * 100).toFixed(1)} %`;
  const values = [when, record.line_id, `${record.reference.in} · ${record.reference.out}`, `${record.device.in} · ${record.device.out}`, accuracy];
  const badge = Object.assign(document.createElement("span"), { className: `badge ${record.verdict}`, textContent: record.verdict });
  [...values, badge, record.operator || "–"].forEach((value, k) => {
    const cell = row.insertCell();
    cell.dataset.label = VALIDATION_COLUMNS[k]; // the heading, shown in the cell on a phone
    if (typeof value === "string") cell.textContent = value; else cell.appendChild(value);
  });
}

refreshStatus();
refreshChart().catch(() => {});
refreshValidations().catch(() => {});
new ResizeObserver(() => drawChart(shown)).observe(document.getElementById("chart"));
setInterval(refreshStatus, 3000);
setInterval(() => { refreshChart().catch(() => {}); refreshValidations().catch(() => {}); }, 30000);
