// Filters and sorting over the server-rendered rows. Row data comes from the JSON element,
// parsed, never evaluated; no row content is made from it, rows are only shown, hidden
// and reordered.
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('eksguard-data').textContent);
  var rows = Array.prototype.slice.call(document.querySelectorAll('details.f'));
  var form = document.getElementById('filters');
  var field = function (id) { return document.getElementById(id); };
  var sev = field('f-sev'), fam = field('f-family'), ns = field('f-namespace'),
    kind = field('f-kind'), text = field('f-text');
  var shown = field('shown'), suppressedShown = field('suppressed-shown');

  var SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'];
  var found = data.findings;
  var index = rows.map(function (row) { return +row.getAttribute('data-i'); });
  // The text each row is searched by, made on the first search.
  var haystack = null;
  function searchable() {
    return found.map(function (d) {
      var rule = data.rules[d.r];
      return [SEVERITIES[d.s], d.r, rule[0], d.res, d.loc, '.' + d.p, d.m].join(' ').toLowerCase();
    });
  }

  function apply() {
    var q = text.value.trim().toLowerCase();
    if (q && !haystack) haystack = searchable();
    var main = 0, sup = 0;
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], j = index[i], d = found[j];
      var ok = (!sev.value || SEVERITIES[d.s] === sev.value) &&
        (!fam.value || data.rules[d.r][1] === fam.value) &&
        (!ns.value || d.ns === ns.value) && (!kind.value || d.k === kind.value) &&
        (!q || haystack[j].indexOf(q) >= 0);
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
  Array.prototype.forEach.call(document.querySelectorAll('.head button[data-sort]'), function (button) {
    button.addEventListener('click', function () {
      var table = button.closest('.findings'), body = table.querySelector('.rows');
      var dir = button.getAttribute('data-dir') === 'asc' ? 'desc' : 'asc';
      Array.prototype.forEach.call(table.querySelectorAll('.head button'), function (b) { b.removeAttribute('data-dir'); });
      button.setAttribute('data-dir', dir);
      var list = Array.prototype.slice.call(body.children).sort(compare(button.getAttribute('data-sort')));
      if (dir === 'desc') list.reverse();
      var frag = document.createDocumentFragment();
      list.forEach(function (r) { frag.appendChild(r); });
      body.appendChild(frag);
    });
  });

  // A row's details arrive as the text of its <noscript> (the server's escaped markup):
  // built when the row is first opened.
  document.addEventListener('toggle', function (e) {
    var row = e.target;
    if (!row.open || !row.classList || !row.classList.contains('f')) return;
    var inert = row.querySelector(':scope > noscript');
    if (!inert) return;
    var t = document.createElement('template');
    t.innerHTML = inert.textContent;
    inert.replaceWith(t.content);
  }, true);

  form.hidden = false;
  // A reload may bring back filter values the browser kept.
  if (sev.value || fam.value || ns.value || kind.value || text.value) apply();
  document.documentElement.setAttribute('data-ready', '1');
  if (window.performance && performance.mark) performance.mark('eksguard-ready');
})();
