// Agusto WMS staff console: the little script the pages use. Everything
// works without it except the live pick list and scan confirmation.
'use strict';

// Forms marked data-once submit once: a double click sends one request
// (and the form's Idempotency-Key makes a resent form count once anyway).
document.querySelectorAll('form[data-once]').forEach(function (form) {
  form.addEventListener('submit', function (ev) {
    if (form.dataset.sent) { ev.preventDefault(); return; }
    form.dataset.sent = '1';
    form.querySelectorAll('button[type=submit]').forEach(function (b) {
      b.setAttribute('aria-disabled', 'true');
    });
  });
});

// Forms marked data-confirm ask first.
document.querySelectorAll('form[data-confirm]').forEach(function (form) {
  form.addEventListener('submit', function (ev) {
    if (!window.confirm(form.dataset.confirm)) { ev.preventDefault(); }
  });
});

// Print buttons.
document.querySelectorAll('[data-print]').forEach(function (b) {
  b.addEventListener('click', function () { window.print(); });
});

// The pick list refreshes its rows every few seconds, keeping checked boxes;
// not while the keyboard focus is inside the rows (replacing them would
// drop the focus): that refresh is skipped.
(function () {
  var body = document.getElementById('pick-rows');
  if (!body) { return; }
  var count = document.querySelector('#pick-count .n');
  var last = body.innerHTML;
  function focusInside() { return body.contains(document.activeElement); }
  function refresh() {
    if (document.hidden || focusInside()) { return; }
    fetch(body.dataset.refresh, { credentials: 'same-origin', headers: { Accept: 'text/html' } })
      .then(function (r) {
        if (r.status === 401) { window.location.assign('/console/sign-in?ended=1'); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (html === null || html === last || focusInside()) { return; }
        var checked = {};
        body.querySelectorAll('input[name=order]:checked').forEach(function (c) { checked[c.value] = true; });
        body.innerHTML = html;
        last = html;
        body.querySelectorAll('input[name=order]').forEach(function (c) { c.checked = !!checked[c.value]; });
        if (count) { count.textContent = String(body.querySelectorAll('tr[data-order]').length); }
      })
      .catch(function () {});
  }
  window.setInterval(refresh, 4000);
})();

// Scanning on an order: a product's barcode, code or SKU confirms one unit
// of its line; when every line is complete, focus moves to the next step.
(function () {
  var form = document.querySelector('form[data-scan]');
  if (!form) { return; }
  var input = form.querySelector('input[name=scan]');
  var out = document.getElementById('scan-result');
  var lines = Array.prototype.slice.call(document.querySelectorAll('tr[data-line]'));
  function complete(tr) { return Number(tr.dataset.scanned || 0) >= Number(tr.dataset.qty); }
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var code = input.value.trim();
    input.value = '';
    if (!code) { return; }
    var low = code.toLowerCase();
    var match = lines.find(function (tr) {
      return !complete(tr) && [tr.dataset.barcode, tr.dataset.code, tr.dataset.sku]
        .some(function (c) { return c && c.toLowerCase() === low; });
    });
    if (!match) {
      out.textContent = out.dataset.unknown + ' ' + code;
      out.className = 'flash err';
      return;
    }
    match.dataset.scanned = String(Number(match.dataset.scanned || 0) + 1);
    match.querySelector('[data-count]').textContent = match.dataset.scanned;
    if (complete(match)) { match.classList.add('done'); }
    if (lines.every(complete)) {
      out.textContent = out.dataset.done;
      out.className = 'flash ok';
      var next = document.getElementById('pack') || document.querySelector('.actions button');
      if (next) { next.focus(); }
    } else {
      out.textContent = out.dataset.more + ' ' + match.dataset.sku + ' (' + match.dataset.scanned + '/' + match.dataset.qty + ')';
      out.className = 'flash ok';
      input.focus();
    }
  });
})();
