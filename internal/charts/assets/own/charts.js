// ghevents chart pages: draw the echarts option the page embeds as JSON.
// No inline script runs on our pages; this file and echarts.min.js are
// served by ghevents itself.
(function () {
  "use strict";
  var el = document.getElementById("chart");
  var data = document.getElementById("chart-option");
  if (!el || !data || typeof echarts === "undefined") {
    return;
  }
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  var option = JSON.parse(data.textContent);
  // Gap charts: show the time and the gap, not the raw [ms, seconds] pair.
  if (option.xAxis && option.xAxis[0] && option.xAxis[0].type === "time") {
    option.tooltip = option.tooltip || {};
    option.tooltip.formatter = function (p) {
      if (!p || !p.value || p.componentType !== "series") {
        return esc(p && p.name ? p.name + ": " + p.value : "");
      }
      return esc(p.seriesName) + "<br>" + esc(new Date(p.value[0]).toISOString().replace(".000Z", "Z")) +
        "<br>" + esc(p.value[1]) + " s since the previous event";
    };
  }
  var chart = echarts.init(el, null, { renderer: "canvas" });
  chart.on("finished", function () {
    document.documentElement.setAttribute("data-chart-finished", "true");
  });
  chart.setOption(option);
  window.addEventListener("resize", function () { chart.resize(); });
})();
