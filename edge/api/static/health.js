"use strict";
// Device health: polls /api/status every 3 s and /api/counts every 30 s; draws its own SVG chart.
const VERDICTS = { green: "Counting normally", amber: "Degraded: check the reasons", red: "Counts are being lost" };

function text(value, unit = "", digits = 1) {
  if (value === null || value === undefined) return "unknown";
  if (typeof value === "number") return `${value.toFixed(digits)}${unit}`;
  return String(value);
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
      figure("Oldest waiting", text(s.outbox_oldest_s === null ? null : s.outbox_oldest_s / 60, " min", 0)),
      figure("CPU temperature", text(s.temperature_c, " °C", 0)),
      figure("Throttled", s.throttled === null ? "unknown" : s.throttled ? "yes" : "no"),
      figure("Disk free", text(gb, " GB")),
      figure("Uptime", text(s.uptime_s / 3600, " h")),
      figure("Model", `${s.model_name} (${s.model_licence})`),
      figure("Software", s.software_version),
      figure("Privacy", `${s.privacy_masks} masks · snapshots ${s.snapshots_enabled ? "on" : "off"} · suppress < ${s.suppress_below || "off"}`),
    );
  } catch (error) {
    document.getElementById("verdict").textContent = `Device not answering (${error.message})`;
    document.getElementById("dot").className = "dot red";
  }
}

async function refreshChart() {
  const intervals = await getJSON("/api/counts?limit=240");
  const svg = document.getElementById("chart");
  const width = svg.clientWidth || 600, height = svg.clientHeight || 160;
  const totals = intervals.map((i) => i.lines.reduce((sum, l) => sum + l.in + l.out, 0));
  const peak = Math.max(1, ...totals);
  const step = width / Math.max(totals.length, 1);
  const bars = totals.map((total, k) => {
    const h = (total / peak) * (height - 20);
    const dim = intervals[k].quality.coverage < 0.8 ? ' fill-opacity="0.35"' : "";
    return `<rect x="${k * step}" y="${height - h}" width="${Math.max(step - 1, 1)}" height="${h}" fill="#2b6cb0"${dim}></rect>`;
  });
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.innerHTML = bars.join("") + `<text x="4" y="14" font-size="12" fill="#5a6478">max ${peak} people / interval</text>`;
  document.getElementById("chart-note").textContent = intervals.length
    ? `${intervals.length} intervals from ${intervals[0].start} to ${intervals[intervals.length - 1].end}; pale bars were observed less than 80 %.`
    : "No interval closed yet.";
}

refreshStatus();
refreshChart().catch(() => {});
setInterval(refreshStatus, 3000);
setInterval(() => refreshChart().catch(() => {}), 30000);
