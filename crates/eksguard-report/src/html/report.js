// Filters and sorting over the server-rendered rows. Row data comes from the JSON element,
// parsed, never evaluated; no row content is made from it. Markup kept inert in
// <noscript> elements (rows after the first chunk, the details of the first chunk's rows)
// is the server's own escaped markup, turned into elements by the parser again.
(function () {
  'use strict';
  var root = document.documentElement;
  var data = JSON.parse(document.getElementById('eksguard-data').textContent);
  var found = data.findings;
  var SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'];
  var form = document.getElementById('filters');
  var field = function (id) { return document.getElementById(id); };
  var sev = field('f-sev'), fam = field('f-family'), ns = field('f-namespace'),
    kind = field('f-kind'), text = field('f-text');
  var shown = field('shown'), suppressedShown = field('suppressed-shown');
  var rows = Array.prototype.slice.call(document.querySelectorAll('details.f'));
  var pending = Array.prototype.slice.call(document.querySelectorAll('noscript.chunk'));
  var complete = false;

  // The text each finding is searched by, made on the first search.
  var haystack = null;
  function searchable() {
    return found.map(function (d) {
      var rule = data.rules[d.r];
      return [SEVERITIES[d.s], d.r, rule[0], d.res, d.loc, '.' + d.p, d.m].join(' ').toLowerCase();
    });
  }

  // The filter in force, as a test of a finding's index; null when none is set.
  var current = null;
  function matcher() {
    var q = text.value.trim().toLowerCase();
    var s = sev.value, f = fam.value, n = ns.value, k = kind.value;
    if (!q && !s && !f && !n && !k) return null;
    if (q && !haystack) haystack = searchable();
    return function (j) {
      var d = found[j];
      return (!s || SEVERITIES[d.s] === s) && (!f || data.rules[d.r][1] === f) &&
        (!n || d.ns === n) && (!k || d.k === k) && (!q || haystack[j].indexOf(q) >= 0);
    };
  }

  function show(list) {
    for (var i = 0; i < list.length; i++) {
      var row = list[i], ok = !current || current(+row.getAttribute('data-i'));
      if (row.hidden === ok) row.hidden = !ok;
    }
  }

  // Counts come from the data, so they are right before every row is in place.
  function apply() {
    current = matcher();
    var main = 0, sup = 0;
    for (var j = 0; j < found.length; j++) {
      if (!current || current(j)) { if (found[j].sup) sup++; else main++; }
    }
    shown.textContent = main;
    if (suppressedShown) suppressedShown.textContent = sup;
    show(rows);
  }

  function materialize(chunk) {
    var t = document.createElement('template');
    t.innerHTML = chunk.textContent;
    var fresh = Array.prototype.slice.call(t.content.querySelectorAll('details.f'));
    show(fresh);
    rows = rows.concat(fresh);
    chunk.replaceWith(t.content);
  }
  function done() {
    if (complete) return;
    complete = true;
    root.setAttribute('data-complete', '1');
    if (window.performance && performance.mark) performance.mark('eksguard-complete');
  }
  function finish() {
    while (pending.length) materialize(pending.shift());
    done();
  }
  // The other chunks arrive while the page is idle, one at a time.
  var idle = window.requestIdleCallback || function (f) { return setTimeout(function () { f({ timeRemaining: function () { return 0; }, didTimeout: true }); }, 16); };
  function pump(deadline) {
    do { if (pending.length) materialize(pending.shift()); } while (pending.length && deadline.timeRemaining() > 10);
    if (pending.length) idle(pump, { timeout: 100 }); else done();
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
      var i = +a.getAttribute('data-i'), j = +b.getAttribute('data-i');
      var p = found[i][key], q = found[j][key];
      if (p < q) return -1;
      if (p > q) return 1;
      return i - j;
    };
  }
  Array.prototype.forEach.call(document.querySelectorAll('.head button[data-sort]'), function (button) {
    button.addEventListener('click', function () {
      finish();
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

  // Tables of one rule's facts sort on a header click; numeric columns by value, a
  // cell's data-v standing in for its text where the text does not sort (severity).
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable th button'), function (button) {
    button.addEventListener('click', function () {
      var th = button.parentNode, table = th.closest('table'), body = table.tBodies[0];
      var col = Array.prototype.indexOf.call(th.parentNode.children, th);
      var numeric = button.hasAttribute('data-num');
      // Counts open largest first, text A to Z; a second click turns the order round.
      var was = button.getAttribute('data-dir');
      var dir = was ? (was === 'desc' ? 'asc' : 'desc') : (numeric ? 'desc' : 'asc');
      Array.prototype.forEach.call(table.querySelectorAll('th button'), function (b) { b.removeAttribute('data-dir'); });
      button.setAttribute('data-dir', dir);
      function key(row) {
        var cell = row.cells[col], v = cell.getAttribute('data-v');
        if (v === null) v = cell.textContent;
        return numeric ? +v : v.toLowerCase();
      }
      var list = Array.prototype.slice.call(body.rows).map(function (r, i) { return [key(r), i, r]; });
      list.sort(function (a, b) {
        var c = a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
        return (dir === 'desc' ? -c : c) || a[1] - b[1];
      });
      var frag = document.createDocumentFragment();
      list.forEach(function (e) { frag.appendChild(e[2]); });
      body.appendChild(frag);
    });
  });

  // The details of a first-chunk row arrive as the text of its <noscript>: built when the
  // row is first opened.
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
  if (matcher()) apply();
  root.setAttribute('data-ready', '1');
  if (window.performance && performance.mark) performance.mark('eksguard-ready');
  if (pending.length) idle(pump, { timeout: 100 }); else done();
})();
