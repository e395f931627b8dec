// The router's live dashboard: polls /dashboard/api/state once a second and redraws.
// Plain browser JavaScript with uPlot (served from the router jar's WebJar): no build step.
(function () {
  "use strict";

  const POLL_MS = 1000;
  const charts = {};

  function ms(v) { return v == null ? null : v * 1000; }
  function fmt(v, digits) { return v == null || isNaN(v) ? "–" : v.toFixed(digits); }
  function text(tag, value, cls) {
    const el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }

  function makeChart(id, series, yLabel, secondAxis) {
    const el = document.getElementById(id);
    const width = Math.max(320, el.clientWidth - 8);
    const axes = [{}, { label: yLabel, size: 60 }];
    if (secondAxis) axes.push({ side: 1, scale: secondAxis.scale, label: secondAxis.label, size: 60, grid: { show: false } });
    const opts = {
      width: width,
      height: 200,
      scales: { x: { time: true } },
      series: [{}].concat(series),
      axes: axes,
      legend: { live: false },
    };
    const data = [[]].concat(series.map(() => []));
    return { el: el, plot: new uPlot(opts, data, el), updates: 0 };
  }

  function setData(chart, data) {
    chart.plot.setData(data);
    chart.updates++;
    chart.el.dataset.updates = String(chart.updates);
    chart.el.dataset.points = String(data[0].length);
    // How many points carry a value in the first series: the browser test waits for real data.
    chart.el.dataset.values = String(data[1].filter((v) => v != null).length);
  }

  function init() {
    charts.ttft = makeChart("chart-ttft", [
      { label: "p50", stroke: "#2f6fdf", width: 2, spanGaps: true },
      { label: "p95", stroke: "#e8590c", width: 2, spanGaps: true },
    ], "ms");
    charts.itl = makeChart("chart-itl", [
      { label: "p50", stroke: "#2f6fdf", width: 2, spanGaps: true },
      { label: "p95", stroke: "#e8590c", width: 2, spanGaps: true },
    ], "ms");
    charts.throughput = makeChart("chart-throughput", [
      { label: "tokens/s", stroke: "#2b8a3e", width: 2 },
      { label: "requests/s", stroke: "#7048e8", width: 2, scale: "rps" },
      { label: "errors/s", stroke: "#c62828", width: 1, scale: "rps" },
    ], "tokens/s", { scale: "rps", label: "req/s" });
  }

  function renderEngines(engines) {
    const body = document.querySelector("#engines tbody");
    body.replaceChildren();
    for (const e of engines) {
      const tr = document.createElement("tr");
      tr.dataset.engine = e.url;
      tr.appendChild(text("td", e.url, "engine"));
      const health = e.draining ? "draining" : e.health;
      tr.appendChild(text("td", health, "health " + health));
      tr.appendChild(text("td", e.models.join(", ")));
      tr.appendChild(text("td", String(e.in_flight), "num"));
      tr.appendChild(text("td", fmt(e.running, 0), "num"));
      tr.appendChild(text("td", fmt(e.waiting, 0), "num"));
      const kv = document.createElement("td");
      const bar = document.createElement("span");
      bar.className = "bar";
      const fill = document.createElement("span");
      fill.style.width = Math.min(100, Math.max(0, e.kv_usage * 100)) + "%";
      bar.appendChild(fill);
      kv.appendChild(bar);
      kv.appendChild(document.createTextNode(fmt(e.kv_usage * 100, e.kv_usage < 0.1 ? 2 : 1) + " %"));
      tr.appendChild(kv);
      tr.appendChild(text("td", e.max_loras > 0
          ? e.active_loras.length + "/" + e.max_loras + (e.active_loras.length ? " " + e.active_loras.join(", ") : "")
          : "–"));
      tr.appendChild(text("td", e.prefix_hit_rate == null ? "–" : fmt(e.prefix_hit_rate * 100, 1) + " %", "num"));
      tr.appendChild(text("td", e.scrape_age_s == null ? "never" : fmt(e.scrape_age_s, 1) + " s", "num"));
      body.appendChild(tr);
    }
  }

  function renderDecisions(decisions) {
    const body = document.querySelector("#decisions tbody");
    body.replaceChildren();
    for (const d of decisions.slice(0, 20)) {
      const tr = document.createElement("tr");
      tr.appendChild(text("td", new Date(d.ts).toLocaleTimeString()));
      tr.appendChild(text("td", d.request_id));
      tr.appendChild(text("td", d.model));
      tr.appendChild(text("td", d.policy + (d.retry ? " (retry)" : "")));
      tr.appendChild(text("td", d.engine));
      tr.appendChild(text("td", d.reason, "reason"));
      body.appendChild(tr);
    }
  }

  function render(state) {
    const s = state.series;
    setData(charts.ttft, [s.t, s.ttft_p50.map(ms), s.ttft_p95.map(ms)]);
    setData(charts.itl, [s.t, s.itl_p50.map(ms), s.itl_p95.map(ms)]);
    setData(charts.throughput, [s.t, s.tokens_per_s, s.qps, s.errors_per_s]);
    renderEngines(state.engines);
    renderDecisions(state.decisions);
    const last = s.t.length - 1;
    document.getElementById("sum-engines").textContent =
      state.engines.filter((e) => e.routable).length + "/" + state.engines.length;
    document.getElementById("sum-qps").textContent = last < 0 ? "–" : fmt(s.qps[last], 1);
    document.getElementById("sum-tps").textContent = last < 0 ? "–" : fmt(s.tokens_per_s[last], 0);
    document.getElementById("sum-inflight").textContent = last < 0 ? "–" : String(s.in_flight[last]);
    document.getElementById("sum-decisions").textContent = String(state.decisions_total);
  }

  async function poll() {
    const status = document.getElementById("status");
    try {
      const r = await fetch("/dashboard/api/state", { cache: "no-store" });
      if (!r.ok) throw new Error("HTTP " + r.status);
      render(await r.json());
      status.textContent = "updated " + new Date().toLocaleTimeString();
      status.className = "status";
    } catch (err) {
      status.textContent = "router unreachable: " + err.message;
      status.className = "status error";
    } finally {
      setTimeout(poll, POLL_MS);
    }
  }

  window.addEventListener("resize", () => {
    for (const c of Object.values(charts)) c.plot.setSize({ width: Math.max(320, c.el.clientWidth - 8), height: 200 });
  });
  init();
  poll();
})();
