// New alerts without a reload: the alerts page's open tab listens to
// /alerts/stream (server-sent events, the signed-in organization's only)
// and adds each new alert as a row. Every value goes in as text.
(function () {
  "use strict";
  var live = document.getElementById("live");
  var body = document.querySelector("#alerts tbody");
  if (!live || !body || !window.EventSource) return;
  var count = 0;
  var counter = document.getElementById("fresh-count");

  function cell(row, text, cls) {
    var td = document.createElement("td");
    if (cls) {
      var span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      td.appendChild(span);
    } else {
      td.textContent = text;
    }
    row.appendChild(td);
    return td;
  }

  function add(a) {
    if (body.querySelector('tr[data-id="' + CSS.escape(a.id) + '"]')) return;
    var row = document.createElement("tr");
    row.className = "fresh";
    row.dataset.id = a.id;
    var box = document.createElement("input");
    box.type = "checkbox";
    box.name = "id";
    box.value = a.id;
    box.setAttribute("aria-label", "select alert " + a.id);
    cell(row, "").appendChild(box);
    var sev = cell(row, a.severity_name, "sev");
    sev.firstChild.classList.add("sev-" + Number(a.severity));
    var rule = cell(row, a.rule, "rule");
    rule.appendChild(document.createElement("br"));
    var title = document.createElement("span");
    title.className = "empty";
    title.textContent = a.title;
    rule.appendChild(title);
    cell(row, a.host);
    cell(row, a.first_seen);
    cell(row, a.last_seen);
    cell(row, String(a.count));
    var ev = cell(row, "");
    if (a.events && a.events.charAt(0) === "/") {
      var link = document.createElement("a");
      link.href = a.events;
      link.className = "events";
      link.textContent = "events";
      ev.appendChild(link);
    }
    body.insertBefore(row, body.firstChild);
    var none = document.getElementById("no-alerts");
    if (none) none.remove();
    count++;
    counter.textContent = String(count);
  }

  var src = new EventSource("/alerts/stream?after=" + encodeURIComponent(live.dataset.after));
  src.addEventListener("open", function () { live.hidden = false; });
  src.addEventListener("alert", function (e) { add(JSON.parse(e.data)); });
  src.addEventListener("signed-out", function () { src.close(); live.hidden = true; });
})();
