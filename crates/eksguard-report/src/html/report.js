// Filters and sorting over the server-rendered rows. Row data comes from the JSON element,
// parsed, never evaluated; row content is never rebuilt from it, only shown or hidden.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('eksguard-data').textContent);
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr.f'));
  var form = document.getElementById('filters');
  var field = function (id) { return document.getElementById(id); };
  var sev = field('f-sev'), fam = field('f-family'), ns = field('f-namespace'),
    kind = field('f-kind'), text = field('f-text');
  var shown = field('shown'), suppressedShown = field('suppressed-shown');

  function apply() {
    var q = text.value.trim().toLowerCase();
    var main = 0, sup = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], d = data.findings[+row.getAttribute('data-i')];
      var ok = (!sev.value || d.sv === sev.value) && (!fam.value || d.fa === fam.value) &&
        (!ns.value || d.ns === ns.value) && (!kind.value || d.k === kind.value) &&
        (!q || d.t.indexOf(q) >= 0);
      if (row.hidden === ok) row.hidden = !ok;
      if (ok) { if (d.sup) sup++; else main++; }
    }
    shown.textContent = main;
    if (suppressedShown) suppressedShown.textContent = sup;
  }

  var timer = 0;
  function later() { clearTimeout(timer); timer = setTimeout(apply, 80); }
  [sev, fam, ns, kind].forEach(function (s) { s.addEventListener('change', apply); });
  text.addEventListener('input', later);
  form.addEventListener('reset', function () { setTimeout(apply, 0); });
  form.addEventListener('submit', function (e) { e.preventDefault(); apply(); });

  // A chart's bar filters the table by what it counts.
  var targets = { family: fam, namespace: ns, rule: null };
  Array.prototype.forEach.call(document.querySelectorAll('g.bar[data-filter]'), function (g) {
    g.addEventListener('click', function () {
      var key = g.getAttribute('data-filter'), value = g.getAttribute('data-value');
      if (targets[key]) { targets[key].value = value; } else { text.value = value.toLowerCase(); }
      apply();
      document.getElementById('findings').scrollIntoView();
    });
  });

  function compare(key) {
    return function (a, b) {
      var x = data.findings[+a.getAttribute('data-i')], y = data.findings[+b.getAttribute('data-i')];
      var p = x[key], q = y[key];
      if (p < q) return -1;
      if (p > q) return 1;
      return (+a.getAttribute('data-i')) - (+b.getAttribute('data-i'));
    };
  }
  Array.prototype.forEach.call(document.querySelectorAll('th button[data-sort]'), function (button) {
    button.addEventListener('click', function () {
      var table = button.closest('table'), body = table.tBodies[0];
      var dir = button.getAttribute('data-dir') === 'asc' ? 'desc' : 'asc';
      Array.prototype.forEach.call(table.querySelectorAll('th button'), function (b) { b.removeAttribute('data-dir'); });
      button.setAttribute('data-dir', dir);
      var list = Array.prototype.slice.call(body.rows).sort(compare(button.getAttribute('data-sort')));
      if (dir === 'desc') list.reverse();
      var frag = document.createDocumentFragment();
      list.forEach(function (r) { frag.appendChild(r); });
      body.appendChild(frag);
    });
  });

  form.hidden = false;
  apply();
  document.documentElement.setAttribute('data-ready', '1');
  if (window.performance && performance.mark) performance.mark('eksguard-ready');
})();
