// ghevents chart pages: draw the echarts option the page embeds as JSON.
// No inline script runs on our pages; this file and echarts.min.js are
// served by ghevents itself.
//
// What the option (made on the server, which knows nothing of the screen)
// cannot say, this file adds: numbers written with thousands separators
// like the axes', category labels cut to the room the chart's width leaves
// (whole in the tooltip), and labels an axis has no room for left out
// rather than drawn over each other.
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
  function thousands(v) {
    return typeof v === "number" ? v.toLocaleString("en-US") : String(v);
  }
  function list(x) {
    return x === undefined ? [] : Array.isArray(x) ? x : [x];
  }
  var option = JSON.parse(data.textContent);
  var axes = list(option.xAxis).concat(list(option.yAxis));
  axes.forEach(function (a) {
    a.axisLabel = a.axisLabel || {};
    a.axisLabel.hideOverlap = true;
  });
  // Several average lines: their labels would cover each other, so the
  // legend carries the averages (and a line's label shows on hover).
  var averaged = list(option.series).filter(function (s) { return s.markLine && s.markLine.data; });
  // An average's label stays readable over the dots, with the subtitle's
  // three decimals.
  averaged.forEach(function (s) {
    s.markLine.precision = 3;
    s.markLine.label = Object.assign({ backgroundColor: "rgba(255,255,255,0.85)", padding: [2, 4] }, s.markLine.label);
  });
  if (averaged.length > 1) {
    var avg = {};
    averaged.forEach(function (s) {
      avg[s.name] = s.markLine.data[0].yAxis;
      s.markLine.label = Object.assign({}, s.markLine.label, { show: false });
      s.markLine.emphasis = { label: { show: true } };
    });
    option.legend = list(option.legend).map(function (l) {
      return Object.assign({}, l, {
        formatter: function (name) { return name in avg ? name + " (avg " + thousands(avg[name]) + " s)" : name; }
      });
    });
  }
  // Bar values: 4,280 as the axis writes 4,000.
  list(option.series).forEach(function (s) {
    if (s.label && s.label.show && !s.label.formatter) {
      s.label.formatter = function (p) { return thousands(p.value); };
    }
  });
  // Category labels (repository names, event types): at most 40 % of the
  // chart's width, cut with an ellipsis; the tooltip shows them whole.
  function fitLabels() {
    var width = Math.max(80, Math.min(280, el.clientWidth * 0.4));
    axes.forEach(function (a) {
      if (a.type === "category") {
        a.axisLabel.width = width;
        a.axisLabel.overflow = "truncate";
      }
    });
  }
  fitLabels();
  if (axes.some(function (a) { return a.type === "category"; })) {
    option.tooltip = option.tooltip || {};
    // Every series of the category (the coverage chart stacks several),
    // those without a value left out.
    option.tooltip.formatter = function (ps) {
      var all = list(ps);
      if (!all.length) {
        return "";
      }
      var lines = all.filter(function (p) { return p.value !== null && p.value !== undefined; }).map(function (p) {
        return esc(p.seriesName) + ": " + esc(thousands(p.value));
      });
      return esc(all[0].name) + "<br>" + lines.join("<br>");
    };
  }
  var timeAxis = option.xAxis && option.xAxis[0] && option.xAxis[0].type === "time";
  // Timelines (lines on a time axis, one tooltip per bucket): the bucket's
  // start in UTC, then each series with events in it, most first, and the
  // total of them; kept inside the chart on a phone.
  if (timeAxis && option.tooltip && option.tooltip.trigger === "axis") {
    option.tooltip.confine = true;
    option.tooltip.formatter = function (ps) {
      ps = list(ps).filter(function (p) { return p && p.value; });
      if (!ps.length) {
        return "";
      }
      var start = new Date(ps[0].value[0]).toISOString().replace("T", " ").replace(/:00\.000Z$/, " UTC");
      var shown = ps.filter(function (p) { return p.value[1] > 0; }).sort(function (a, b) { return b.value[1] - a.value[1]; });
      var total = ps.reduce(function (n, p) { return n + p.value[1]; }, 0);
      var lines = [esc(start)];
      shown.forEach(function (p) {
        lines.push(p.marker + esc(p.seriesName) + ": " + esc(thousands(p.value[1])));
      });
      if (ps.length > 1 || !shown.length) {
        lines.push("total: " + esc(thousands(total)));
      }
      return lines.join("<br>");
    };
  } else if (timeAxis) {
    // Gap charts: show the time and the gap, not the raw [ms, seconds] pair.
    option.tooltip = option.tooltip || {};
    option.tooltip.formatter = function (p) {
      if (!p || !p.value || p.componentType !== "series") {
        return esc(p && p.name ? p.name + ": " + p.value : "");
      }
      return esc(p.seriesName) + "<br>" + esc(new Date(p.value[0]).toISOString().replace(".000Z", "Z")) +
        "<br>" + esc(thousands(p.value[1])) + " s since the previous event";
    };
  }
  var chart = echarts.init(el, null, { renderer: "canvas" });
  chart.on("finished", function () {
    document.documentElement.setAttribute("data-chart-finished", "true");
  });
  chart.setOption(option);
  window.addEventListener("resize", function () {
    fitLabels();
    chart.setOption({ xAxis: option.xAxis, yAxis: option.yAxis });
    chart.resize();
  });
})();
