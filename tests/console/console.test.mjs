// Browser tests of the staff console against the real binary: headless
// Chromium (Debian's package) driven by playwright-core, axe-core on every
// page, a screenshot of every page under target/console-screenshots/.
//
// Run: (cd tests/console && npm ci) && node --test tests/console/
// Env: AGUSTO_BIN (default target/debug/agusto), CHROMIUM (default /usr/bin/chromium).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  apiClient, launch, seriousViolations, shot, signIn, startReceiver, startServer, until,
} from './harness.mjs';

const T = { timeout: 90000 };
let server; let api; let browser; let good; let bad; let badAnswers = 500;
let staff; let shop; let failing;

/** Checks the page with axe-core and takes its screenshot. */
async function check(page, name) {
  await shot(page, name);
  assert.deepEqual(await seriousViolations(page), [], `accessibility of ${name}`);
}

/** A paid order from the shop (with `extra` fields: customer, address); its id. */
async function paidOrder(externalId, lines, extra = {}) {
  const placed = await api('POST', '/api/v1/orders', shop.api_token, { external_id: externalId, lines, ...extra });
  assert.equal(placed.status, 201, JSON.stringify(placed.body));
  const paid = await api('PATCH', `/api/v1/orders/${placed.body.id}/paid`, shop.api_token);
  assert.equal(paid.status, 200, JSON.stringify(paid.body));
  return placed.body.id;
}

async function onHand(code) {
  return (await api('GET', `/api/v1/inventory/${code}`, server.admin)).body.on_hand;
}

describe('staff console', () => {
  before(async () => {
    server = await startServer();
    api = apiClient(server.base);
    good = await startReceiver();
    bad = await startReceiver(() => badAnswers);
    const admin = server.admin;
    staff = (await api('POST', '/api/v1/tokens', admin, { role: 'staff', name: 'console test' })).body;
    shop = (await api('POST', '/api/v1/channels', admin, { name: 'Toko Kopi', webhook_url: good.url })).body;
    failing = (await api('POST', '/api/v1/channels', admin, { name: 'Toko Gagal', webhook_url: bad.url })).body;
    for (const [code, name, barcode] of [['KOPI-250', 'Kopi Toraja 250g', '8991234567890'],
      ['TEH-100', 'Teh Melati 100g', '8990000000012']]) {
      const r = await api('PUT', `/api/v1/products/${code}`, admin, { name, active: true, barcode });
      assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.body));
    }
    const seeded = await api('POST', '/api/v1/stock/receipts', admin,
      { reference: 'seed', lines: [{ product_code: 'KOPI-250', quantity: 50 }, { product_code: 'TEH-100', quantity: 30 }] });
    assert.equal(seeded.status, 201, JSON.stringify(seeded.body));
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    await good?.stop();
    await bad?.stop();
    await server?.stop();
  });

  test('sign-in refuses a wrong token; CSP without inline scripts', T, async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await context.newPage();
    const first = await page.goto(server.base + '/console');
    assert.match(page.url(), /\/console\/sign-in$/);
    const csp = first.headers()['content-security-policy'];
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    await check(page, '01-sign-in');
    await page.fill('#token', 'not-a-real-token');
    const [answer] = await Promise.all([page.waitForNavigation(), page.press('#token', 'Enter')]);
    assert.equal(answer.status(), 401);
    await page.getByText('That token is not valid.').waitFor();
    await page.fill('#token', shop.api_token);
    const [refused] = await Promise.all([page.waitForNavigation(), page.press('#token', 'Enter')]);
    assert.equal(refused.status(), 403, 'a channel token is not a staff token');
    await check(page, '02-sign-in-refused');
    await context.close();
  });

  test('a paid order is picked, packed and dispatched in the console; the webhook fires', T, async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 1000, height: 700 } });
    const page = await signIn(context, server.base, staff.token);
    const cookie = (await context.cookies()).find((c) => c.name === 'agusto_console');
    assert.ok(cookie.httpOnly, 'session cookie is HttpOnly');
    assert.equal(cookie.sameSite, 'Strict');
    assert.notEqual(cookie.value, staff.token);
    assert.equal(await page.evaluate(() => localStorage.length + sessionStorage.length), 0);
    assert.ok(!(await page.content()).includes(staff.token), 'the token is not in the page');

    // An order arrives while the pick list is open: it shows without a
    // reload, after the older one.
    const older = await paidOrder('TK-1000', [{ sku: 'TEH-100', quantity: 3 }]);
    await page.reload();
    await page.evaluate(() => { window.stillHere = true; });
    const id = await paidOrder('TK-1001', [{ sku: 'KOPI-250', quantity: 2 }, { sku: 'TEH-100', quantity: 1 }], {
      customer: { name: 'Siti Rahma', email: 'siti@example.com', loyalty: { tier: 'gold' } },
      shipping_address: { postal_code: '90111', city: 'Makassar', street: 'Jl. Somba Opu 12',
        province: 'Sulawesi Selatan', geo: { lat: -5.1 }, internal_ref: 'XYZ-9' },
    });
    await page.locator(`tr[data-order="${id}"]`).waitFor({ timeout: 15000 });
    assert.equal(await page.evaluate(() => window.stillHere), true, 'no reload');
    const shown = await page.locator('tr[data-order]').evaluateAll((rows) => rows.map((r) => r.dataset.order));
    assert.deepEqual(shown, [older, id], 'oldest first');
    assert.equal(await page.textContent('#pick-count .n'), '2');
    await check(page, '03-pick-list');

    // While the keyboard focus is inside the rows they are left alone (the
    // focus stays put); once it leaves, the next refresh shows the new order.
    await page.locator(`tr[data-order="${older}"] input[name=order]`).focus();
    const later = await paidOrder('TK-1003', [{ sku: 'TEH-100', quantity: 1 }]);
    await page.waitForTimeout(9000); // two refresh periods
    assert.equal(await page.locator(`tr[data-order="${later}"]`).count(), 0, 'no refresh while focused');
    assert.equal(await page.evaluate(() => document.activeElement.value), older, 'the focus stays');
    await page.getByRole('button', { name: 'Print pick list' }).focus();
    await page.locator(`tr[data-order="${later}"]`).waitFor({ timeout: 15000 });
    assert.equal(await page.textContent('#pick-count .n'), '3');

    // A printable pick list of the selected order.
    await page.check(`tr[data-order="${id}"] input[name=order]`);
    await page.getByRole('button', { name: 'Print pick list' }).click();
    await page.waitForURL(/pick-list\/print\?order=/);
    await page.getByRole('cell', { name: 'KOPI-250' }).waitFor();
    await check(page, '04-pick-list-print');

    // Keyboard and scanner only from here: Enter on the focused step.
    await page.goto(server.base + `/console/orders/${id}`);
    await check(page, '05-order-paid');
    await page.keyboard.press('Enter'); // "Start picking" has the focus
    await page.getByText('Picking started').waitFor();
    for (const code of ['8991234567890', 'nope-123', '8991234567890', '8990000000012']) {
      await page.keyboard.type(code); // the scan field has the focus
      await page.keyboard.press('Enter');
    }
    await page.getByText('Every line is scanned.').waitFor();
    await check(page, '06-order-scanned');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'pack');
    await page.keyboard.press('Enter');
    await page.getByText('Order packed').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tracking');
    await page.keyboard.type('JNE0012345678');
    await page.keyboard.press('Tab');
    await page.keyboard.type('JNE');
    await page.keyboard.press('Enter');
    await page.getByText('Order dispatched.').waitFor();
    await check(page, '07-order-dispatched');

    const seen = await api('GET', `/api/v1/orders/${id}`, shop.api_token);
    assert.equal(seen.body.status, 'dispatched');
    assert.equal(seen.body.tracking_number, 'JNE0012345678');
    assert.equal(seen.body.carrier, 'JNE');
    const hook = await until('the order.dispatched webhook', () =>
      good.got.find((h) => h.body?.type === 'order.dispatched' && h.body.data.order_id === id));
    assert.equal(hook.body.data.tracking_number, 'JNE0012345678');
    assert.match(hook.headers['webhook-signature'], /^v1,/);

    // A step the order's state does not allow: the API's refusal in words.
    const csrf = await page.inputValue('form.sign-out input[name=csrf]');
    const refused = await page.request.post(server.base + `/console/orders/${id}/pick`, { form: { csrf }, maxRedirects: 0 });
    assert.equal(refused.status(), 303);
    await page.reload();
    await page.getByText('The order is not in a state that allows this step.').waitFor();

    await page.goto(server.base + `/console/orders/${id}/slip`);
    await page.getByRole('heading', { name: /Packing slip/ }).waitFor();
    // The address's known keys in a fixed order; nothing else of the customer.
    const address = await page.locator('address').evaluate((a) => a.innerText.split('\n').filter(Boolean));
    assert.deepEqual(address, ['Siti Rahma', 'Jl. Somba Opu 12', 'Makassar', 'Sulawesi Selatan', '90111']);
    for (const hidden of ['siti@example.com', 'gold', 'XYZ-9', '-5.1']) {
      assert.ok(!(await page.content()).includes(hidden), `${hidden} is not on the slip`);
    }
    await check(page, '08-packing-slip');
    await context.close();
  });

  test('receiving stock with a double click counts it once', T, async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await signIn(context, server.base, staff.token);
    await page.goto(server.base + '/console/stock');
    await page.fill('#q', 'teh');
    await page.press('#q', 'Enter');
    await page.getByRole('link', { name: 'TEH-100' }).waitFor();
    await check(page, '09-stock-search');
    // A scanned barcode goes straight to the product.
    await page.fill('#q', '8990000000012');
    await page.press('#q', 'Enter');
    await page.waitForURL(/\/console\/stock\/TEH-100$/);
    await check(page, '10-product');

    const before = await onHand('TEH-100');
    await page.fill('#receipt-qty', '7');
    await page.fill('#receipt-ref', 'PO-77');
    await page.dblclick('#receive');
    await page.getByText('Stock received.').waitFor();
    await page.waitForLoadState('networkidle');
    assert.equal(await onHand('TEH-100'), before + 7);
    assert.equal(await page.locator('#movements tr', { hasText: 'PO-77' }).count(), 1);

    // The same form sent twice (no script to stop it): applied once.
    const fields = {};
    for (const name of ['csrf', 'key']) {
      fields[name] = await page.inputValue(`form[action$="/receipt"] input[name=${name}]`);
    }
    const form = { ...fields, quantity: '5', reference: 'PO-78' };
    const url = server.base + '/console/stock/TEH-100/receipt';
    await page.request.post(url, { form, maxRedirects: 0 });
    await page.request.post(url, { form, maxRedirects: 0 });
    assert.equal(await onHand('TEH-100'), before + 12);
    // The pick list's poll and the language switch leave the message for
    // the next page.
    assert.equal((await page.request.get(server.base + '/console/pick-list/rows')).status(), 200);
    const switched = await page.request.get(server.base + '/console/lang/en?back=/console/stock/TEH-100', { maxRedirects: 0 });
    assert.equal(switched.status(), 303);
    await page.reload();
    await page.getByText('already recorded').waitFor();

    await page.check('#mode-delta');
    await page.fill('#adjust-amount', '-2');
    await page.fill('#adjust-reason', 'seal broken');
    await page.click('form[action$="/adjustment"] button[type=submit]');
    await page.getByText('Stock adjusted.').waitFor();
    assert.equal(await onHand('TEH-100'), before + 10);

    // Refused adjustments say what the API said: below 0, and a count
    // against a version that is no longer the product's.
    await page.fill('#adjust-amount', '-100000');
    await page.fill('#adjust-reason', 'miscount');
    await page.click('form[action$="/adjustment"] button[type=submit]');
    await page.getByText('Some values are not allowed. delta: adjustment would take on_hand of TEH-100 below 0').waitFor();
    await check(page, '10b-adjustment-refused');
    const version = (await api('GET', '/api/v1/inventory/TEH-100', server.admin)).body.version;
    await page.locator('form[action$="/adjustment"] input[name=expected_version]')
      .evaluate((el) => { el.value = '1'; });
    await page.fill('#adjust-amount', '1');
    await page.fill('#adjust-reason', 'recount');
    await page.click('form[action$="/adjustment"] button[type=submit]');
    await page.getByText(`it is now at version ${version}.`).waitFor();
    assert.equal(await onHand('TEH-100'), before + 10);
    await context.close();
  });

  test('dead letters are listed with their attempts and replayed', T, async () => {
    const failed = await until('dead letters of the failing channel', async () => {
      const r = await api('GET', `/api/v1/webhooks/deliveries?status=failed&channel_id=${failing.id}`, server.admin);
      return r.body.items.length >= 2 && r.body.items;
    }, 30000);
    badAnswers = 204; // the receiver is fixed
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await signIn(context, server.base, staff.token);
    await page.goto(server.base + '/console/webhooks');
    await page.locator(`tr[data-delivery="${failed[0].id}"]`, { hasText: failed[0].type }).waitFor();
    await page.locator(`tr[data-delivery="${failed[0].id}"] summary`).click();
    await page.locator(`tr[data-delivery="${failed[0].id}"] li`, { hasText: 'HTTP 500' }).first().waitFor();
    await check(page, '11-dead-letters');
    const before = bad.got.length;
    await page.locator(`tr[data-delivery="${failed[0].id}"] button`).click();
    await page.getByText('Queued again').waitFor();
    for (const d of failed.slice(1)) await page.check(`tr[data-delivery="${d.id}"] input[name=id]`);
    // First in the selection, a delivery replayed meanwhile (no longer a
    // dead letter): the API refuses it, and every other one is still tried.
    await page.locator('#dead-letters tbody').evaluate((tbody, id) => {
      const tr = document.createElement('tr');
      tr.innerHTML = '<td><input type="checkbox" name="id" checked aria-label="stale"></td>';
      tr.querySelector('input').value = id;
      tbody.prepend(tr);
    }, failed[0].id);
    await page.getByRole('button', { name: 'Replay selected' }).click();
    await page.getByText(`Not queued: ${failed[0].id} — This conflicts`).waitFor();
    const said = await page.textContent('.flash.err');
    const queued = /Queued again: ([^.]*)\./.exec(said)[1].split(', ').sort();
    assert.deepEqual(queued, failed.slice(1).map((d) => d.id).sort(), said);
    for (const d of failed) {
      await until(`delivery ${d.id} delivered`, async () => {
        const r = await api('GET', `/api/v1/webhooks/deliveries?channel_id=${failing.id}&status=delivered`, server.admin);
        return r.body.items.some((x) => x.id === d.id);
      }, 30000);
    }
    assert.ok(bad.got.slice(before).some((h) => h.body?.id === failed[0].event_id), 'same event id');
    await context.close();
  });

  test('changes without the CSRF token or from another origin are refused', T, async () => {
    const id = await paidOrder('TK-1002', [{ sku: 'KOPI-250', quantity: 1 }]);
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await signIn(context, server.base, staff.token);
    const csrf = await page.inputValue('form.sign-out input[name=csrf]');
    const url = server.base + `/console/orders/${id}/cancel`;
    assert.equal((await page.request.post(url, { form: {}, maxRedirects: 0 })).status(), 403);
    assert.equal((await page.request.post(url, { form: { csrf: (csrf[0] === 'x' ? 'y' : 'x') + csrf.slice(1) }, maxRedirects: 0 })).status(), 403);
    const foreign = await page.request.post(url,
      { form: { csrf }, headers: { Origin: 'http://evil.example' }, maxRedirects: 0 });
    assert.equal(foreign.status(), 403);
    assert.equal((await api('GET', `/api/v1/orders/${id}`, server.admin)).body.status, 'pending_approval');
    await context.close();
  });

  test('language from Accept-Language, and the switch', T, async () => {
    const context = await browser.newContext({ locale: 'id-ID' });
    const page = await context.newPage();
    await page.goto(server.base + '/console');
    assert.equal(await page.getAttribute('html', 'lang'), 'id');
    await page.getByRole('button', { name: 'Masuk' }).waitFor();
    await page.fill('#token', staff.token);
    await page.press('#token', 'Enter');
    await page.getByRole('heading', { name: 'Daftar ambil' }).waitFor();
    await check(page, '12-pick-list-id');
    await page.getByRole('link', { name: 'English' }).click();
    await page.getByRole('heading', { name: 'Pick list' }).waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.getByRole('link', { name: 'Bahasa Indonesia' }).click();
    await page.getByRole('heading', { name: 'Daftar ambil' }).waitFor();
    // A way back that is not a plain console path (a control character,
    // another host) leads to /console, never to a server error.
    for (const back of ['/console%0Ax', '/console%0D%0ASet-Cookie:%20x=1', '//evil.example/console']) {
      const odd = await page.request.get(server.base + `/console/lang/en?back=${back}`, { maxRedirects: 0 });
      assert.equal(odd.status(), 303, back);
      assert.equal(odd.headers().location, '/console', back);
    }
    await context.close();
  });

  test('usable 360 px wide', T, async () => {
    const context = await browser.newContext({ locale: 'en-US', viewport: { width: 360, height: 740 }, isMobile: true });
    const page = await signIn(context, server.base, staff.token);
    for (const [p, name] of [['/console/pick-list', '13-pick-list-360'], ['/console/stock/KOPI-250', '14-product-360']]) {
      await page.goto(server.base + p);
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(width <= 360, `${p} is ${width} px wide`);
      await check(page, name);
    }
    await context.close();
  });

  test('signing in again ends the previous session', T, async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await signIn(context, server.base, staff.token);
    const first = (await context.cookies()).find((c) => c.name === 'agusto_console');
    // A sign-in form opened while signed out (another tab), sent while signed in.
    await context.clearCookies({ name: 'agusto_console' });
    await page.goto(server.base + '/console/sign-in');
    await context.addCookies([first]);
    await page.fill('#token', staff.token);
    await page.press('#token', 'Enter');
    await page.waitForURL(/\/console\/pick-list$/, { timeout: 10000 });
    const second = (await context.cookies()).find((c) => c.name === 'agusto_console');
    assert.notEqual(second.value, first.value);
    // The first session id signs nobody in any more.
    const other = await browser.newContext({ locale: 'en-US' });
    await other.addCookies([first]);
    const old = await other.newPage();
    await old.goto(server.base + '/console/pick-list');
    assert.match(old.url(), /\/console\/sign-in$/);
    await other.close();
    await page.reload();
    assert.match(page.url(), /\/console\/pick-list$/);
    await context.close();
  });

  test('sign-out and a revoked token end the session', T, async () => {
    const context = await browser.newContext({ locale: 'en-US' });
    const page = await signIn(context, server.base, staff.token);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/sign-in$/);
    await page.goto(server.base + '/console/pick-list');
    assert.match(page.url(), /sign-in$/);

    const temp = (await api('POST', '/api/v1/tokens', server.admin, { role: 'staff', name: 'temp' })).body;
    const page2 = await signIn(context, server.base, temp.token);
    assert.equal((await api('DELETE', `/api/v1/tokens/${temp.id}`, server.admin)).status < 300, true);
    await until('the revoked token to end its session', async () => {
      await page2.goto(server.base + '/console/stock');
      return /sign-in\?ended=1$/.test(page2.url());
    }, 15000, 500);
    await page2.getByText('Your session has ended').waitFor();
    await context.close();
  });
});
