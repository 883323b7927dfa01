import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { eventually } from '../support/agents-api';
import { FakeGithub } from '../support/fake-github';
import { GoAgent, goAgentBinary } from '../support/go-agent';
import { rawRequest } from '../support/rest-client';
import { startTestServer, TEST_ADMIN, TestServer } from '../support/test-server';
import { launchChromium, screenshot, seriousA11yViolations } from './chromium';
import { TelemetryService } from '../../src/telemetry/telemetry.service';

const VIEWER = { username: 'vera', password: 'viewer-passphrase-91c4' };
/** Package uploads over this many bytes are refused (413), so the suite can show that refusal with a small file. */
const PACKAGE_LIMIT = 100_000;
const PACKAGE_CAPS = 'ReportsStatus,ReportsHeartbeat,ReportsHealth,AcceptsPackages,ReportsPackageStatuses';
/** The key package signatures are checked against (PACKAGE_SIGNING_PUBLIC_KEY_FILE): ECDSA P-256, SHA-256 over the file. */
const signingKeys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

/**
 * The web UI end to end in a real browser: the built UI served by the real server, a real
 * opamp-go agent, the real database. One story in order (each step builds on the last).
 */
describe('web UI in Chromium', () => {
  let server: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let agent: GoAgent | undefined;
  let edge: GoAgent | undefined;
  let relay: GoAgent | undefined;
  let github: FakeGithub;
  let uid: string;
  /** The opamp-go agent of the group `edge`, which the package steps install on. */
  let edgeUid: string;
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  const a11y: Record<string, string[]> = {};

  const url = (p: string) => `${server.baseUrl}${p}`;
  const newPage = async (ctx: BrowserContext) => {
    const p = await ctx.newPage();
    p.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(`${p.url()}: ${m.text()}`);
    });
    p.on('pageerror', (e) => {
      pageErrors.push(e.message);
      console.error(`page error: ${e.message}`);
    });
    return p;
  };
  const signIn = async (p: Page, who: { username: string; password: string }) => {
    await p.goto(url('/'));
    await p.getByLabel('User name').fill(who.username);
    await p.getByLabel('Password').fill(who.password);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('button', { name: 'Sign out' }).waitFor();
  };
  /**
   * Replaces the text of a CodeMirror editor as a user's paste would: focus, select all, insert.
   * (Playwright's fill() on a contenteditable lets Chromium's own editing add styled spans first,
   * which the page's CSP then refuses; a user typing or pasting never does that.)
   */
  const setEditor = async (p: Page, label: string, text: string) => {
    const editor = p.getByLabel(label);
    await editor.click();
    await p.keyboard.press('ControlOrMeta+a');
    await p.keyboard.insertText(text);
  };
  /** Screenshot plus axe-core check of the page as shown. */
  const check = async (p: Page, name: string) => {
    await screenshot(p, name);
    a11y[name] = await seriousA11yViolations(p);
  };

  beforeAll(async () => {
    goAgentBinary();
    // GitHub sign-in against a fake GitHub on loopback (the real one cannot be reached here).
    github = await FakeGithub.start();
    github.addUser({ id: 7, login: 'gina', name: 'Gina', orgs: ['acme'] });
    github.addUser({ id: 8, login: 'outsider', orgs: ['elsewhere'] });
    const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'web-ui-signing-')), 'package-signing.pem');
    fs.writeFileSync(keyFile, signingKeys.publicKey.export({ type: 'spki', format: 'pem' }));
    server = await startTestServer({
      PACKAGE_MAX_FILE_BYTES: String(PACKAGE_LIMIT),
      PACKAGE_SIGNING_PUBLIC_KEY_FILE: keyFile,
      GITHUB_CLIENT_ID: github.clientId,
      GITHUB_CLIENT_SECRET: github.clientSecret,
      GITHUB_BASE_URL: github.url,
      GITHUB_API_URL: github.url,
      GITHUB_ALLOWED_ORGS: 'acme',
      GITHUB_DEFAULT_ROLE: 'viewer',
    });
    const created = await rawRequest(url('/api/v1/users'), {
      method: 'POST',
      headers: server.authHeaders,
      body: { kind: 'User', apiVersion: 'v1', metadata: { name: VIEWER.username }, spec: { role: 'viewer', password: VIEWER.password } },
    });
    if (created.status !== 201) throw new Error(`creating the viewer failed: ${created.status} ${JSON.stringify(created.body)}`);
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    page = await newPage(context);
  });
  afterAll(async () => {
    await agent?.stop();
    await edge?.stop();
    await relay?.stop();
    await browser?.close();
    await server?.close();
    await github?.close();
  });

  it("sends a signed-out visitor to the sign-in page, refuses a wrong password with the API's message, and signs in", async () => {
    await page.goto(url('/agents'));
    await page.waitForURL(/\/sign-in$/);
    await check(page, '01-sign-in');
    await page.getByLabel('User name').fill(TEST_ADMIN.username);
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Invalid user name or password' }).waitFor();
    await page.getByLabel('Password').fill(TEST_ADMIN.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Back where the visitor wanted to go.
    await page.waitForURL(/\/agents$/);
    await page.getByRole('heading', { name: 'Agents' }).waitFor();
  });

  it('keeps the refresh token out of reach of scripts: an HttpOnly, SameSite=Strict cookie, nothing in storage', async () => {
    const cookies = await context.cookies();
    const refresh = cookies.find((c) => c.name === 'opamp_commander_refresh');
    expect(refresh).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1/auth/session' });
    expect(await page.evaluate('document.cookie')).toBe('');
    expect(await page.evaluate('JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage })')).toBe('{}{}');
  });

  it('survives a reload (the cookie gets a new access token)', async () => {
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await expect(page.getByTestId('who').textContent()).resolves.toContain('admin (admin)');
  });

  it('stays signed in when a reload finds the server busy: the refresh waits out 503 and 429 (Retry-After), and fifty reloads in a row keep the session', async () => {
    // The server answers the first two refreshes busy (as during a rolling update or under its rate limit).
    const busy = [503, 429];
    await page.route('**/api/v1/auth/session/refresh', (route) => {
      const status = busy.shift();
      if (status === undefined) return route.continue();
      return route.fulfill({
        status,
        headers: { 'retry-after': '1', 'content-type': 'application/problem+json' },
        body: JSON.stringify({ status, title: 'busy' }),
      });
    });
    try {
      await page.reload();
      await page.getByRole('button', { name: 'Sign out' }).waitFor();
      expect(busy).toEqual([]);
    } finally {
      await page.unroute('**/api/v1/auth/session/refresh');
    }
    // Every page load refreshes; more than the per-address login limit (30 a minute) must not sign anyone out.
    for (let i = 0; i < 50; i++) await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    await expect(page.getByTestId('who').textContent()).resolves.toContain('admin (admin)');
  });

  it('lists a real opamp-go agent once it connects, and opens its page', async () => {
    agent = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, [
      '--heartbeat',
      '1',
      '--service-name',
      'checkout',
      '--service-version',
      '3.1.0',
      '--host-name',
      'web-box',
      '--effective-config',
      'receivers:\n  otlp: {}\n',
    ]);
    uid = (await agent.event('started')).uid as string;
    agent.command({ cmd: 'set_health', healthy: true, status: 'StatusOK' });
    await page.goto(url('/agents?selector=service.name%3Dcheckout'));
    const row = page.getByRole('link', { name: uid });
    for (let i = 0; i < 100 && !(await row.isVisible()); i++) {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(200);
    }
    await row.waitFor();
    await expect(page.getByLabel('Selector').inputValue()).resolves.toBe('service.name=checkout');
    await check(page, '02-agents');

    await row.click();
    await page.waitForURL(new RegExp(`/agents/${uid}$`));
    await page.getByRole('heading', { name: /checkout/ }).waitFor();
    await expect(page.getByTestId('connection-state').textContent()).resolves.toBe('connected');
    // The effective config is shown highlighted as YAML (CodeMirror, loaded when the page needs it).
    const effective = page.getByRole('region', { name: 'Effective config' });
    // (The plain-text fallback shows until the editor is ready: wait for the editor's own line.)
    await effective.locator('.cm-line', { hasText: 'otlp: {}' }).waitFor();
    await effective.locator('.tok-propertyName', { hasText: 'receivers' }).waitFor();
    await expect(effective.getByRole('textbox', { name: 'Effective config' }).getAttribute('aria-readonly')).resolves.toBe('true');
    await check(page, '03-agent');
  });

  it('a selector the API refuses shows its problem detail', async () => {
    await page.goto(url('/agents'));
    await page.getByLabel('Selector').fill('in (');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/selector=in/);
    await page.getByRole('alert').waitFor();
  });

  it('creates a remote config and a group for the agent in the UI, and the agent applies it', async () => {
    await page.goto(url('/configs'));
    await page.getByRole('link', { name: 'New config' }).click();
    await page.getByLabel('Name').fill('checkout-base');
    await setEditor(page, 'Body', 'receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug: {}\n');
    await page.getByRole('button', { name: 'Create config' }).click();
    await page.waitForURL(/\/configs\/checkout-base$/);
    await page.getByText(/^Revision 1, hash/).waitFor();
    await check(page, '04-config');

    await page.goto(url('/groups'));
    await page.getByRole('link', { name: 'New group' }).click();
    await page.getByLabel('Name').fill('checkout');
    await page.getByLabel('Selector').fill('service.name=checkout');
    await page.getByText('Matches 1 agents.').waitFor();
    await page.getByLabel('Remote config').selectOption('checkout-base');
    await check(page, '05-group-form');
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.waitForURL(/\/groups$/);
    await page.getByRole('link', { name: 'checkout', exact: true }).waitFor();
    await check(page, '06-groups');

    await agent!.waitFor((e) => e.event === 'config_status' && e.status === 'APPLIED');
    await page.goto(url(`/agents/${uid}`));
    const state = page.getByTestId('remote-config-state');
    for (let i = 0; i < 50 && (await state.textContent()) !== 'applied'; i++) {
      await page.waitForTimeout(200);
      await page.reload();
    }
    await expect(state.textContent()).resolves.toBe('applied');
  });

  it("shows a group's status and the agents it selects, and saves an edit", async () => {
    await page.goto(url('/groups'));
    await page.getByRole('link', { name: 'checkout', exact: true }).click();
    await page.waitForURL(/\/groups\/checkout$/);
    await page
      .getByTestId('group-status')
      .filter({ hasText: /Governs 1 agents: 1 connected, 1 healthy; config 1 applied/ })
      .waitFor();
    await page.getByRole('region', { name: 'Agents it selects' }).getByRole('link', { name: uid }).waitFor();
    await page.getByLabel('Priority').fill('5');
    await page.getByRole('button', { name: 'Save group' }).click();
    await page.getByText('Saved.').waitFor();
    await check(page, '14-group');
    const stored = await rawRequest(url('/api/v1/agentgroups/checkout'), { headers: server.authHeaders });
    expect(stored.body.spec).toMatchObject({ selector: 'service.name=checkout', priority: 5, configs: [{ fileName: '', remoteConfig: 'checkout-base' }] });
  });

  it('marks a syntax error at its line, saves a new revision, shows the diff and rolls back', async () => {
    await page.goto(url('/configs/checkout-base'));
    const body = page.getByLabel('Body');
    await setEditor(page, 'Body', 'receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug: {\n');
    await page.getByRole('button', { name: 'Save new revision' }).click();
    await page
      .getByTestId('body-error')
      .filter({ hasText: /^Line 7, column \d+: .*YAML syntax error/ })
      .waitFor();
    await expect(page.getByTestId('error-line').textContent()).resolves.toBe('7');
    await expect(body.getAttribute('aria-invalid')).resolves.toBe('true');
    // The marked line is the one the API named, and the editor highlights the YAML it holds.
    expect(await page.locator('.cm-error-line').count()).toBe(1);
    await body.locator('.tok-propertyName', { hasText: 'exporters' }).waitFor();
    await check(page, '09-config-error');

    await setEditor(page, 'Body', 'receivers:\n  otlp:\n    protocols:\n      grpc: {}\n      http: {}\nexporters:\n  debug: {}\n');
    await page.getByLabel('Change message').fill('add otlp/http');
    await page.getByRole('button', { name: 'Save new revision' }).click();
    await page
      .getByTestId('config-revision')
      .filter({ hasText: /^Revision 2,/ })
      .waitFor();
    await page.getByRole('cell', { name: 'add otlp/http' }).waitFor();
    // Side by side: revision 1 on the left, 2 on the right with the added line marked.
    const sideBySide = page.getByRole('group', { name: 'Side-by-side differences' });
    await sideBySide.getByRole('textbox', { name: 'Revision 1' }).waitFor();
    await sideBySide.getByRole('textbox', { name: 'Revision 2' }).locator('.cm-changedLine', { hasText: 'http: {}' }).waitFor();
    expect(await sideBySide.getByRole('textbox', { name: 'Revision 1' }).locator('.cm-changedLine').count()).toBe(0);
    await sideBySide.getByTestId('diff-summary').filter({ hasText: '1 changed block.' }).waitFor();
    // The same change in words (the unified diff the API computes).
    await page.getByText('Unified diff (changed lines in words)').click();
    const diff = page.getByLabel('Differences');
    await diff.getByText(/^added: \+\s+http: \{\}$/).waitFor();
    await check(page, '10-config-diff');

    await page.getByRole('button', { name: 'Roll back to 1' }).click();
    await page
      .getByTestId('config-revision')
      .filter({ hasText: /^Revision 3,/ })
      .waitFor();
    await page.getByRole('cell', { name: 'rollback to revision 1' }).waitFor();
    await sideBySide.getByRole('textbox', { name: 'Revision 2' }).locator('.cm-changedLine', { hasText: 'http: {}' }).waitFor();
    await sideBySide.getByRole('textbox', { name: 'Revision 3' }).waitFor();
    await page.getByText('Unified diff (changed lines in words)').click();
    await diff.getByText(/^removed: -\s+http: \{\}$/).waitFor();
    // The editor now holds the rolled-back text (read through the editor's content element).
    await page.getByLabel('Body').getByText('debug: {}').waitFor();
    await expect(page.getByLabel('Body').textContent()).resolves.not.toContain('http: {}');
    await page.getByRole('listitem').filter({ hasText: 'agent group checkout' }).waitFor();
  });

  it("shows the agent's desired config and where it comes from, and edits its labels", async () => {
    await page.goto(url(`/agents/${uid}`));
    await page.getByTestId('desired-origin').filter({ hasText: 'group/checkout' }).waitFor();
    // The agent runs what it was sent: no differences; then it drifts and the diff shows where.
    const dve = page.getByRole('region', { name: 'Desired vs effective' });
    await dve.getByText(/^No differences/).waitFor();
    const sent = agent!.events.length;
    agent!.command({ cmd: 'set_effective_config', body: 'receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug: {}\n  nop: {}\n' });
    const answer = await agent!.waitFor((e) => e.cmd === 'set_effective_config', 10_000, sent);
    expect(answer).toMatchObject({ event: 'ack' });
    const drift = dve.getByRole('textbox', { name: 'Effective' }).locator('.cm-changedLine', { hasText: 'nop: {}' });
    let reported = '';
    for (let i = 0; i < 100 && !reported.includes('nop'); i++) {
      const a = await rawRequest(url(`/api/v1/agents/${uid}`), { headers: server.authHeaders });
      reported = JSON.stringify(a.body.status.effectiveConfig ?? {});
      if (!reported.includes('nop')) await new Promise((r) => setTimeout(r, 100));
    }
    expect(reported).toContain('nop');
    await page.reload();
    await drift.waitFor();
    await dve.getByRole('textbox', { name: 'Desired' }).getByText('debug: {}').waitFor();
    await check(page, '18-desired-vs-effective');
    await page.getByLabel('Label key').fill('team');
    await page.getByLabel('Value').fill('payments');
    await page.getByRole('button', { name: 'Set label' }).click();
    await page.getByText('team=payments').waitFor();
    const stored = await rawRequest(url(`/api/v1/agents/${uid}`), { headers: server.authHeaders });
    expect(stored.body.metadata.labels).toMatchObject({ team: 'payments' });
    await page.getByRole('button', { name: 'Remove label team' }).click();
    await page.getByText('team=payments').waitFor({ state: 'detached' });

    // Its own config overrides the group's, and clearing it falls back.
    const own = page.getByRole('form', { name: 'Assign a config to this agent' });
    await own.getByLabel('Remote config').selectOption('checkout-base');
    await own.getByLabel('Revision').fill('1');
    await own.getByRole('button', { name: 'Assign config' }).click();
    await page.getByTestId('own-config').filter({ hasText: 'Assigned: checkout-base@1' }).waitFor();
    await page.getByTestId('desired-origin').filter({ hasText: "agent's own config" }).waitFor();
    await own.getByLabel('Remote config').selectOption('');
    await own.getByRole('button', { name: 'Clear own config' }).click();
    await page.getByTestId('own-config').filter({ hasText: /^None/ }).waitFor();
    await page.getByTestId('desired-origin').filter({ hasText: 'group/checkout' }).waitFor();

    // What was done to it, from the audit log (admins).
    const history = page.getByRole('table', { name: 'Agent history' });
    await page.reload();
    await history.getByRole('row').nth(4).waitFor();
    expect(await history.getByRole('row').filter({ hasText: 'admin' }).count()).toBeGreaterThanOrEqual(4);
    await page.getByRole('region', { name: 'Available components' }).waitFor();
    await check(page, '18-agent-sections');
  });

  it('starts a rollout of revision 2 to the group, follows it live to Succeeded, rolls it back and offers a retry', async () => {
    await page.getByRole('link', { name: 'Rollouts' }).click();
    await page.getByRole('table', { name: 'Rollouts' }).getByText('No rollouts yet.').waitFor();
    await page.getByRole('link', { name: 'New rollout' }).click();
    await page.getByLabel('Group').selectOption('checkout');
    await page.getByLabel('Name').fill('checkout-otlp-http');
    await page.getByLabel('Revision of checkout-base').fill('2');
    await page.getByLabel(/^Stages/).fill('1, 100%');
    await check(page, '16-rollout-form');
    const mark = agent!.events.length;
    await page.getByRole('button', { name: 'Start rollout' }).click();
    await page.waitForURL(/\/rollouts\/checkout-otlp-http$/);
    // No reload: the page follows the change stream until the driver is done.
    await page.getByTestId('rollout-phase').filter({ hasText: 'Succeeded' }).waitFor({ timeout: 60_000 });
    const delivered = await agent!.waitFor((e) => e.event === 'remote_config' && JSON.stringify(e.config).includes('http: {}'), 10_000, mark);
    expect(delivered).toBeDefined();
    await page
      .getByTestId('rollout-reached')
      .filter({ hasText: /^1 of 1$/ })
      .waitFor();
    await page
      .getByTestId('rollout-history')
      .getByText(/Succeeded/)
      .first()
      .waitFor();
    await check(page, '17-rollout');
    const group = await rawRequest(url('/api/v1/agentgroups/checkout'), { headers: server.authHeaders });
    expect(group.body.spec.configs).toEqual([{ fileName: '', remoteConfig: 'checkout-base', revision: 2 }]);

    await page.getByRole('button', { name: 'Roll back' }).click();
    await page.getByTestId('rollout-phase').filter({ hasText: 'RolledBack' }).waitFor();
    await page.getByRole('button', { name: 'Retry from stage 1' }).waitFor();
    const restored = await rawRequest(url('/api/v1/agentgroups/checkout'), { headers: server.authHeaders });
    expect(restored.body.spec.configs).toEqual([{ fileName: '', remoteConfig: 'checkout-base' }]);
    await page.getByRole('link', { name: 'Rollouts' }).first().click();
    await page.getByRole('row').filter({ hasText: 'checkout-otlp-http' }).getByText('RolledBack').waitFor();
  });

  it('creates an enrollment token (the secret shown once, with a snippet) and revokes it', async () => {
    await page.getByRole('link', { name: 'Enrollment tokens' }).click();
    await page.getByLabel('Description').fill('browser test collectors');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = (await page.getByTestId('new-token').textContent()) ?? '';
    expect(secret).toMatch(/^oce_/);
    await page.getByText(`Authorization: "Bearer ${secret}"`).waitFor();
    await check(page, '11-tokens');
    const row = page.getByRole('row').filter({ hasText: 'browser test collectors' });
    await row.getByRole('button', { name: /^Revoke token/ }).click();
    await row.getByText('revoked').waitFor();
    // Gone for good: a reload shows the list, never the secret again.
    await page.reload();
    await page.getByRole('row').filter({ hasText: 'browser test collectors' }).getByText('revoked').waitFor();
    expect(await page.getByTestId('new-token').count()).toBe(0);
  });

  it('shows users and the audit log to an admin', async () => {
    await page.getByRole('link', { name: 'Users' }).click();
    await page.getByRole('rowheader', { name: VIEWER.username }).waitFor();
    await check(page, '12-users');
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByLabel('Resource kind').fill('remoteconfigs');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/kind=remoteconfigs/);
    await page.getByRole('cell', { name: 'rollback' }).first().waitFor();
    await check(page, '13-audit');
  });

  it('shows the fleet overview with counts that link to the filtered list', async () => {
    await page.goto(url('/'));
    await page.getByTestId('count-Agents').filter({ hasText: /^1$/ }).waitFor();
    await page.getByTestId('count-Connected').filter({ hasText: /^1$/ }).waitFor();
    await page.getByTestId('count-Disconnected').filter({ hasText: /^0$/ }).waitFor();
    await page.getByTestId('count-Config applied').filter({ hasText: /^1$/ }).waitFor();
    // By version: the server reads the fleet's keys at most every 10 s, so a new value may take a reload or two.
    const version = page.getByTestId('facet-service.version').getByRole('link', { name: /3\.1\.0/ });
    for (let i = 0; i < 30 && !(await version.count()); i++) {
      await page.waitForTimeout(500);
      await page.reload();
    }
    await page
      .getByTestId('facet-os.type')
      .getByRole('link', { name: /linux\s*1/ })
      .waitFor();
    await check(page, '07-overview');
    await version.click();
    await page.waitForURL(/selector=service\.version%3D3\.1\.0/);
    await page.getByRole('link', { name: uid }).waitFor();
    // The selector box completes keys and then values from the fleet.
    const box = page.getByLabel('Selector');
    await box.fill('service.v');
    await page.locator('#selector-completions option[value="service.version"]').waitFor({ state: 'attached' });
    await box.fill('os.type=');
    await page.locator('#selector-completions option[value="os.type=linux"]').waitFor({ state: 'attached' });
    await page.goto(url('/'));
    await page
      .getByRole('link', { name: /Connected/ })
      .first()
      .click();
    await page.waitForURL(/\/agents\?connected=true$/);
    await page.getByRole('link', { name: uid }).waitFor();

    // Filter by group and choose columns: both land in the URL.
    await page.getByLabel('Group').selectOption('checkout');
    await page.waitForURL(/group=checkout/);
    await page.getByRole('link', { name: uid }).waitFor();
    await page.getByText('Columns', { exact: true }).click();
    await page.getByRole('checkbox', { name: 'OS', exact: true }).check();
    await page.getByRole('checkbox', { name: 'Host', exact: true }).uncheck();
    await page.waitForURL(/cols=/);
    const table = page.getByRole('table', { name: 'Agents' });
    await table.getByRole('columnheader', { name: 'OS', exact: true }).waitFor();
    expect(await table.getByRole('columnheader', { name: 'Host', exact: true }).count()).toBe(0);
    await page.reload();
    await table.getByRole('cell', { name: 'linux' }).waitFor();
    await check(page, '15-agents-columns');
  });

  it('updates an open agents list and agent page live from the change stream: an agent appears, then turns disconnected, without a reload', async () => {
    await page.goto(url('/agents?selector=service.name%3Dlive-one'));
    await page.getByText('No agents match.').waitFor();
    // Survives only as long as the page is not reloaded.
    await page.evaluate(() => ((globalThis as unknown as { notReloaded: boolean }).notReloaded = true));
    const live = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, ['--heartbeat', '1', '--service-name', 'live-one']);
    try {
      const liveUid = (await live.event('started')).uid as string;
      // No Refresh click: the change stream brings the row.
      await page.getByRole('link', { name: liveUid }).waitFor({ timeout: 30_000 });
      await page.getByRole('link', { name: liveUid }).click();
      await page.waitForURL(new RegExp(`/agents/${liveUid}$`));
      await page
        .getByTestId('connection-state')
        .filter({ hasText: /^connected$/ })
        .waitFor({ timeout: 30_000 });
      await live.kill();
      await page
        .getByTestId('connection-state')
        .filter({ hasText: /^disconnected$/ })
        .waitFor({ timeout: 30_000 });
      expect(await page.evaluate(() => (globalThis as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
      await check(page, '16-agent-live');
    } finally {
      await live.kill();
    }
  });

  /** Over one 64 KiB hashing slice of the upload form (web/src/sha256.ts), so the browser hashes it in pieces. */
  const v1 = randomBytes(90_000);
  const v2 = randomBytes(30_000);
  const catalogue = async () =>
    (await rawRequest(url('/api/v1/packages?package=otelcol'), { headers: server.authHeaders })).body.items as { metadata: { name: string } }[];

  it('uploads package versions in the UI: the Packages list shows the package with its version count and the signature the API verified', async () => {
    await page.getByRole('link', { name: 'Packages', exact: true }).click();
    await page.getByRole('table', { name: 'Packages' }).getByText('No packages yet.').waitFor();
    const form = page.getByRole('form', { name: 'Upload a package' });
    await form.getByLabel('Package name').fill('otelcol');
    await form.getByLabel('Version').fill('1.0.0');
    await form.getByLabel('File').setInputFiles({ name: 'otelcol.bin', mimeType: 'application/octet-stream', buffer: v1 });
    // The browser hashes the file a slice at a time and sends the SHA-256, which the server checks against the bytes.
    const put = page.waitForRequest((r) => r.method() === 'PUT' && r.url().includes('/api/v1/packages/otelcol%401.0.0/files/'));
    await form.getByRole('button', { name: 'Upload' }).click();
    expect(new URL((await put).url()).searchParams.get('sha256')).toBe(createHash('sha256').update(v1).digest('hex'));
    await form.getByRole('status').filter({ hasText: 'Uploaded otelcol@1.0.0 (1 file).' }).waitFor();
    await page.getByTestId('versions-otelcol').filter({ hasText: /^1$/ }).waitFor();

    // A second version, signed with the key the server checks signatures against.
    await form.getByLabel('Version').fill('1.1.0');
    await form.getByLabel('File').setInputFiles({ name: 'otelcol.bin', mimeType: 'application/octet-stream', buffer: v2 });
    await form.getByLabel('Signature (base64, optional)').fill(sign('sha256', v2, signingKeys.privateKey).toString('base64'));
    await form.getByRole('button', { name: 'Upload' }).click();
    await form.getByRole('status').filter({ hasText: 'Uploaded otelcol@1.1.0 (1 file).' }).waitFor();
    await page.getByTestId('versions-otelcol').filter({ hasText: /^2$/ }).waitFor();
    const row = page.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'otelcol' }) });
    await row.getByText(/^1\.1\.0 \(29\.3 KB, signed: yes \(verified\), SHA-256/).waitFor();
    await row.getByTitle(createHash('sha256').update(v2).digest('hex')).waitFor();
    await expect(page.getByTestId('per-version-otelcol').textContent()).resolves.toBe('1.1.0: 0 · 1.0.0: 0');
    await check(page, '19-packages');
    expect((await catalogue()).map((p) => p.metadata.name)).toEqual(['otelcol@1.0.0', 'otelcol@1.1.0']);
  });

  it("shows the API's refusal of a bad upload inline (a broken signature, a file over the limit) and stores nothing", async () => {
    const form = page.getByRole('form', { name: 'Upload a package' });
    await form.getByLabel('Package name').fill('otelcol');
    await form.getByLabel('Version').fill('1.2.0');
    await form.getByLabel('File').setInputFiles({ name: 'otelcol.bin', mimeType: 'application/octet-stream', buffer: randomBytes(10_000) });
    await form.getByLabel('Signature (base64, optional)').fill(sign('sha256', v1, signingKeys.privateKey).toString('base64'));
    await form.getByRole('button', { name: 'Upload' }).click();
    await form
      .getByRole('alert')
      .filter({ hasText: /\(400\).*signature does not verify against the package signing key/ })
      .waitFor();
    await check(page, '20-package-upload-refused');

    await form.getByLabel('Signature (base64, optional)').fill('');
    await form.getByLabel('File').setInputFiles({ name: 'otelcol.bin', mimeType: 'application/octet-stream', buffer: randomBytes(PACKAGE_LIMIT + 1) });
    await form.getByRole('button', { name: 'Upload' }).click();
    await form
      .getByRole('alert')
      .filter({ hasText: new RegExp(`\\(413\\).*at most ${PACKAGE_LIMIT} bytes`) })
      .waitFor();
    // Nothing of either is stored: the list and the API still hold two versions.
    await page.reload();
    await page.getByTestId('versions-otelcol').filter({ hasText: /^2$/ }).waitFor();
    expect((await catalogue()).map((p) => p.metadata.name)).toEqual(['otelcol@1.0.0', 'otelcol@1.1.0']);
    const missing = await rawRequest(url('/api/v1/packages/otelcol@1.2.0'), { headers: server.authHeaders });
    expect(missing.status).toBe(404);
  });

  it("offers a version to a group on its page; a real agent installs it, and the package page's fleet view lists that agent under its version", async () => {
    await page.goto(url('/groups'));
    await page.getByRole('link', { name: 'New group' }).click();
    await page.getByLabel('Name').fill('edge');
    await page.getByLabel('Selector').fill('service.name=edge');
    await page.getByRole('button', { name: 'Create group' }).click();
    await page.waitForURL(/\/groups$/);
    await page.getByRole('link', { name: 'edge', exact: true }).click();
    await page.waitForURL(/\/groups\/edge$/);
    await page.getByRole('button', { name: 'Add package' }).click();
    await page.getByLabel(/^Package 1/).selectOption('otelcol');
    // The newest version is proposed; the operator picks the older one.
    await expect(page.getByLabel('Version of package 1').inputValue()).resolves.toBe('1.1.0');
    await page.getByLabel('Version of package 1').selectOption('1.0.0');
    await page.getByRole('button', { name: 'Save group' }).click();
    await page.getByText('Saved.').waitFor();
    const stored = await rawRequest(url('/api/v1/agentgroups/edge'), { headers: server.authHeaders });
    expect(stored.body.spec.packages).toEqual([{ name: 'otelcol', version: '1.0.0' }]);

    edge = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, ['--heartbeat', '1', '--service-name', 'edge', '--capabilities', PACKAGE_CAPS]);
    edgeUid = (await edge.event('started')).uid as string;
    const offered = await edge.event('packages_available', 30_000);
    expect(JSON.stringify(offered)).toContain(createHash('sha256').update(v1).digest('hex'));
    await eventually(
      () => rawRequest(url(`/api/v1/agents/${edgeUid}`), { headers: server.authHeaders }),
      (r) => (r.body.status.packages?.installed ?? []).some((p: { name: string; status: string }) => p.name === 'otelcol' && p.status === 'INSTALLED'),
      30_000,
    );

    // The group page counts it as current.
    await page.reload();
    await page
      .getByTestId('group-package-otelcol')
      .filter({ hasText: /otelcol 1\.0\.0: 1 current, 0 behind/ })
      .waitFor();
    await check(page, '21-group-packages');

    // The package page: its versions with their facts, and which agents run which version.
    await page.getByRole('link', { name: 'otelcol', exact: true }).click();
    await page.waitForURL(/\/packages\/otelcol$/);
    await page
      .getByTestId('fleet-package-summary')
      .filter({ hasText: '1 agent reports otelcol; newest catalogued version 1.1.0, 1 not running it.' })
      .waitFor();
    const running = page.getByRole('list', { name: 'Agents running otelcol 1.0.0' });
    await running.getByRole('link', { name: edgeUid }).waitFor();
    await page.getByRole('heading', { name: 'Agents running 1.1.0 (0)' }).waitFor({ state: 'detached' });
    await page
      .getByRole('table', { name: 'Agents per version of otelcol' })
      .getByRole('row')
      .filter({ hasText: '1.0.0' })
      .getByText('1', { exact: true })
      .waitFor();
    const files = page.getByRole('table', { name: 'Files of otelcol@1.1.0' });
    await files.getByRole('cell', { name: 'signed, verified' }).waitFor();
    await files.getByRole('cell', { name: 'stored on the server' }).waitFor();
    await page.getByRole('table', { name: 'Files of otelcol@1.0.0' }).getByRole('cell', { name: 'none', exact: true }).waitFor();
    await check(page, '22-package');
    // The agent's link leads to it; the Packages list counts it.
    await running.getByRole('link', { name: edgeUid }).click();
    await page.waitForURL(new RegExp(`/agents/${edgeUid}$`));
    await page.goto(url('/packages'));
    await page.getByTestId('per-version-otelcol').filter({ hasText: '1.1.0: 0 · 1.0.0: 1' }).waitFor();
  });

  it("uploads a version from the package's own page and deletes it after a confirmation: never offered again, the catalogue as before", async () => {
    await page.goto(url('/packages/otelcol'));
    const form = page.getByRole('form', { name: 'Upload a version of otelcol' });
    await form.getByLabel('Version').fill('2.0.0-rc.1');
    await form.getByLabel('File').setInputFiles({ name: 'otelcol.bin', mimeType: 'application/octet-stream', buffer: randomBytes(1_000) });
    await form.getByRole('button', { name: 'Upload' }).click();
    await form.getByRole('status').filter({ hasText: 'Uploaded otelcol@2.0.0-rc.1 (1 file).' }).waitFor();
    // Newest first: the pre-release sorts above 1.1.0 and below a 2.0.0 release.
    const versions = page.getByRole('region', { name: 'Versions' }).getByRole('heading', { level: 3 });
    await versions
      .first()
      .filter({ hasText: /^2\.0\.0-rc\.1/ })
      .waitFor();
    await expect(versions.allTextContents()).resolves.toEqual(['2.0.0-rc.1 top-level', '1.1.0 top-level', '1.0.0 top-level']);
    await page.getByRole('button', { name: 'Delete otelcol@2.0.0-rc.1' }).click();
    await page.getByRole('button', { name: 'Confirm delete of otelcol@2.0.0-rc.1' }).click();
    await versions.filter({ hasText: /^2\.0\.0-rc\.1/ }).waitFor({ state: 'detached' });
    expect((await catalogue()).map((p) => p.metadata.name)).toEqual(['otelcol@1.0.0', 'otelcol@1.1.0']);
    expect((await rawRequest(url('/api/v1/packages/otelcol@2.0.0-rc.1'), { headers: server.authHeaders })).status).toBe(404);
  });

  it('starts a rollout of a package version from the form; its page counts the installs per stage and the group then names the version', async () => {
    await page.goto(url('/rollouts/new'));
    await page.getByLabel('Group').selectOption('edge');
    // The group assigns no config: only its package can move.
    expect(await page.getByLabel("Move the group's configs").count()).toBe(0);
    const version = page.getByLabel('Version of package otelcol (the group names 1.0.0)');
    await expect(version.inputValue()).resolves.toBe('1.0.0');
    await expect(page.getByRole('button', { name: 'Start rollout' }).isDisabled()).resolves.toBe(true);
    await version.selectOption('1.1.0');
    await page.getByLabel('Name', { exact: true }).fill('edge-otelcol-1-1-0');
    await page.getByRole('button', { name: 'Start rollout' }).click();
    await page.waitForURL(/\/rollouts\/edge-otelcol-1-1-0$/);
    await page.getByTestId('rollout-packages').filter({ hasText: 'otelcol 1.1.0 (from 1.0.0)' }).waitFor();
    await page.getByTestId('rollout-phase').filter({ hasText: 'Succeeded' }).waitFor({ timeout: 60_000 });
    const stages = page.getByRole('table', { name: 'Stages' });
    await stages.getByRole('columnheader', { name: 'Packages installed / installing / failed / pending' }).waitFor();
    await stages
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: '1' }) })
      .getByRole('cell', { name: '1 / 0 / 0 / 0' })
      .waitFor();
    await check(page, '25-package-rollout');
    const group = await rawRequest(url('/api/v1/agentgroups/edge'), { headers: server.authHeaders });
    expect(group.body.spec.packages).toEqual([{ name: 'otelcol', version: '1.1.0' }]);
    await page.goto(url('/rollouts'));
    await page.getByRole('row').filter({ hasText: 'edge-otelcol-1-1-0' }).getByText('otelcol 1.1.0 (from 1.0.0)').waitFor();
  });

  it("shows a rollout of a group's connection settings: what it moves to, and per stage the agents that applied them", async () => {
    const post = (p: string, body: unknown) => rawRequest(url(p), { method: 'POST', headers: server.authHeaders, body });
    const metrics = (v: string) => `http://127.0.0.1:4318/${v}/metrics`;
    const group = await post('/api/v1/agentgroups', {
      kind: 'AgentGroup',
      apiVersion: 'v1',
      metadata: { name: 'relay' },
      spec: { selector: 'service.name=relay', connectionSettings: { ownMetrics: { endpoint: metrics('v1') } } },
    });
    expect(group.status).toBe(201);
    relay = GoAgent.start(`ws://127.0.0.1:${server.opampPort}/v1/opamp`, [
      '--heartbeat',
      '1',
      '--service-name',
      'relay',
      '--capabilities',
      'ReportsStatus,ReportsHeartbeat,ReportsOwnMetrics,ReportsConnectionSettingsStatus',
    ]);
    const relayUid = (await relay.event('started')).uid as string;
    await eventually(
      () => rawRequest(url(`/api/v1/agents/${relayUid}`), { headers: server.authHeaders }),
      (r) => r.body.status.connectionSettingsStatus?.status === 'APPLIED',
      30_000,
    );
    const created = await post('/api/v1/rollouts', {
      kind: 'Rollout',
      apiVersion: 'v1',
      metadata: { name: 'relay-metrics-v2' },
      spec: { target: { group: 'relay' }, connectionSettings: { ownMetrics: { endpoint: metrics('v2') } }, stages: ['100%'] },
    });
    expect(created.status).toBe(201);
    await page.goto(url('/rollouts/relay-metrics-v2'));
    await page
      .getByTestId('rollout-connection-settings')
      .filter({ hasText: `ownMetrics ${metrics('v2')}` })
      .waitFor();
    await page.getByTestId('rollout-phase').filter({ hasText: 'Succeeded' }).waitFor({ timeout: 60_000 });
    const stages = page.getByRole('table', { name: 'Stages' });
    await stages.getByRole('columnheader', { name: 'Connection settings applied / applying / failed / pending' }).waitFor();
    await stages
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: '1' }) })
      .getByRole('cell', { name: '1 / 0 / 0 / 0' })
      .waitFor();
    await check(page, '26-connection-settings-rollout');
    const stored = await rawRequest(url('/api/v1/agentgroups/relay'), { headers: server.authHeaders });
    expect(stored.body.spec.connectionSettings).toEqual({ ownMetrics: { endpoint: metrics('v2') } });
  });

  it("refuses a downgrade set on the group's page until Force is ticked; then the agent installs the older version", async () => {
    const installed = async () => {
      const r = await rawRequest(url(`/api/v1/agents/${edgeUid}`), { headers: server.authHeaders });
      return (r.body.status.packages?.installed ?? []).find((p: { name: string }) => p.name === 'otelcol') as { version?: string; status?: string } | undefined;
    };
    await page.goto(url('/groups/edge'));
    // After the rollout the group names 1.1.0, which the agent runs; the operator moves it back to 1.0.0.
    await expect(page.getByLabel('Version of package 1').inputValue()).resolves.toBe('1.1.0');
    await page.getByLabel('Version of package 1').selectOption('1.0.0');
    await page.getByRole('button', { name: 'Save group' }).click();
    await page.getByText('Saved.').waitFor();
    expect((await rawRequest(url('/api/v1/agentgroups/edge'), { headers: server.authHeaders })).body.spec.packages).toEqual([
      { name: 'otelcol', version: '1.0.0' },
    ]);
    // The forward-only policy does not offer it, and the agent's page says why.
    await page.goto(url(`/agents/${edgeUid}`));
    await page
      .getByText('Not offered: otelcol@1.0.0: 1.0.0 is older than the installed 1.1.0: not offered (forward-only; set force: true to downgrade)')
      .waitFor({ timeout: 30_000 });
    await expect(installed()).resolves.toMatchObject({ version: '1.1.0', status: 'INSTALLED' });
    await check(page, '26-downgrade-refused');

    // Ticking Force saves `force: true`, and the older version is offered and installed.
    await page.goto(url('/groups/edge'));
    await page.getByLabel('Force (allow a downgrade)').check();
    await page.getByRole('button', { name: 'Save group' }).click();
    await page.getByText('Saved.').waitFor();
    expect((await rawRequest(url('/api/v1/agentgroups/edge'), { headers: server.authHeaders })).body.spec.packages).toEqual([
      { name: 'otelcol', version: '1.0.0', force: true },
    ]);
    const last = await eventually(installed, (p) => p?.version === '1.0.0' && p.status === 'INSTALLED', 30_000);
    expect(last).toMatchObject({ version: '1.0.0', status: 'INSTALLED' });
    await page.goto(url(`/agents/${edgeUid}`));
    const row = page
      .getByRole('table', { name: 'Packages' })
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: 'otelcol' }) });
    await row.getByRole('cell', { name: '1.0.0' }).first().waitFor();
    await row.getByRole('cell', { name: 'INSTALLED' }).waitFor();
    expect(await page.getByText(/^Not offered: otelcol@1\.0\.0/).count()).toBe(0);
  });

  it("draws the agent's own telemetry as SVG charts, each with a text alternative and a table of its values", async () => {
    // The agent's Collector sends its own metrics (OTLP JSON) to the server: 600 spans accepted and sent in a minute.
    const t0 = Date.now() - 5 * 60_000;
    const point = (value: number, timeMs: number, attrs: Record<string, string>) => ({
      attributes: Object.entries(attrs).map(([key, v]) => ({ key, value: { stringValue: v } })),
      startTimeUnixNano: String(BigInt(t0 - 3_600_000) * 1_000_000n),
      timeUnixNano: String(BigInt(timeMs) * 1_000_000n),
      asDouble: value,
    });
    const counter = (name: string, value: number, timeMs: number, attrs: Record<string, string>) => ({
      name,
      sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: [point(value, timeMs, attrs)] },
    });
    for (const [timeMs, items] of [
      [t0, 1000],
      [t0 + 60_000, 1600],
    ]) {
      const report = {
        resourceMetrics: [
          {
            resource: { attributes: [{ key: 'service.instance.id', value: { stringValue: uid } }] },
            scopeMetrics: [
              {
                scope: { name: 'go.opentelemetry.io/collector/receiver/receiverhelper' },
                metrics: [
                  counter('otelcol_receiver_accepted_spans', items, timeMs, { receiver: 'otlp', transport: 'grpc' }),
                  counter('otelcol_exporter_sent_spans', items, timeMs, { exporter: 'otlp/backend' }),
                  counter('otelcol_exporter_send_failed_spans', 0, timeMs, { exporter: 'otlp/backend' }),
                  { name: 'otelcol_process_memory_rss', gauge: { dataPoints: [point(123_000_000, timeMs, {})] } },
                ],
              },
            ],
          },
        ],
      };
      const sent = await fetch(`http://127.0.0.1:${server.opampPort}/v1/metrics`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(report),
      });
      expect(sent.status).toBe(200);
    }
    await page.goto(url(`/agents/${uid}`));
    const section = page.getByRole('region', { name: 'Own telemetry' });
    const accepted = section.getByRole('img', { name: /^Items accepted: latest 10\/s, highest 10\/s in the last 60 minutes$/ });
    await accepted.waitFor({ timeout: 15_000 });
    await expect(accepted.locator('title').textContent()).resolves.toBe('Items accepted: latest 10/s, highest 10/s in the last 60 minutes');
    expect(await accepted.locator('path.chart-line').count()).toBe(1);
    await section.getByRole('img', { name: /^Items sent: latest 10\/s/ }).waitFor();
    await section.getByRole('img', { name: /^Memory \(RSS\): latest 117\.3 MB/ }).waitFor();
    // The current values as a table, and each chart's values as a table one click away.
    const current = section.getByRole('table', { name: 'Current own metrics' });
    await current.getByRole('row', { name: 'Items accepted 10/s' }).waitFor();
    await current.getByRole('row', { name: 'Memory (RSS) 117.3 MB' }).waitFor();
    await section.getByText('Values of Items accepted').click();
    const values = section.getByRole('table', { name: 'Items accepted, values' });
    await values.getByRole('cell', { name: '10/s' }).first().waitFor();
    expect(await values.getByRole('cell', { name: '10/s' }).count()).toBe(4);
    await check(page, '23-agent-telemetry');

    // The agents list: its stored rates as columns, sorted by rate (only agents with own telemetry), filtered by condition.
    await server.app.get(TelemetryService).publish();
    await page.goto(url('/agents?sort=-acceptedRate&cols=service,accepted,sent,exportFailures,telemetry'));
    const table = page.getByRole('table', { name: 'Agents' });
    const row = table.getByRole('row').filter({ has: page.getByRole('link', { name: uid }) });
    await row.getByRole('cell', { name: '10', exact: true }).first().waitFor();
    await row.getByRole('cell', { name: '0 %' }).waitFor();
    await row.getByRole('cell', { name: 'ok', exact: true }).waitFor();
    // Busiest first: the agent sending 10 items/s heads the list.
    await expect(table.getByRole('row').nth(1).textContent()).resolves.toContain(uid);
    await check(page, '27-agents-rates');
    await page.getByLabel('Condition').selectOption('Idle');
    await page.waitForURL(/condition=Idle/);
    await page.getByText('No agents match.').waitFor();

    // Its exporter starts failing: its group's page says so, and the count leads to the agent.
    const failing = {
      resourceMetrics: [
        {
          resource: { attributes: [{ key: 'service.instance.id', value: { stringValue: uid } }] },
          scopeMetrics: [
            {
              metrics: [
                counter('otelcol_receiver_accepted_spans', 2200, t0 + 120_000, { receiver: 'otlp', transport: 'grpc' }),
                counter('otelcol_exporter_sent_spans', 1600, t0 + 120_000, { exporter: 'otlp/backend' }),
                counter('otelcol_exporter_send_failed_spans', 600, t0 + 120_000, { exporter: 'otlp/backend' }),
              ],
            },
          ],
        },
      ],
    };
    const posted = await fetch(`http://127.0.0.1:${server.opampPort}/v1/metrics`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(failing),
    });
    expect(posted.status).toBe(200);
    await server.app.get(TelemetryService).publish();
    await page.goto(url('/groups/checkout'));
    // Its totals, from the summary stored with the failures: 10 items/s in, none sent.
    await page.getByTestId('group-rates').filter({ hasText: 'take in 10 items/s and send 0 items/s' }).waitFor();
    await page.getByTestId('group-conditions').getByRole('link', { name: '1 export failing' }).click();
    await page.waitForURL(/group=checkout&condition=ExportFailing/);
    await page.getByRole('table', { name: 'Agents' }).getByRole('link', { name: uid }).waitFor();
  });

  it('signs out: the cookie is cleared and a reload stays signed out', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(/\/sign-in$/);
    expect((await context.cookies()).find((c) => c.name === 'opamp_commander_refresh')).toBeUndefined();
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
  });

  it('signs in with GitHub (web flow through a fake GitHub): back in the UI signed in; a refused account sees why', async () => {
    const ghContext = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const g = await newPage(ghContext);
    try {
      github.approveAs = 'outsider';
      await g.goto(url('/'));
      await g.getByRole('link', { name: 'Sign in with GitHub' }).click();
      await g.getByTestId('github-error').filter({ hasText: 'not a member of an allowed organisation' }).waitFor();
      expect((await ghContext.cookies()).find((c) => c.name === 'opamp_commander_refresh')).toBeUndefined();
      expect(g.url()).not.toContain('signInError');
      github.approveAs = 'gina';
      await g.getByRole('link', { name: 'Sign in with GitHub' }).click();
      await g.getByRole('button', { name: 'Sign out' }).waitFor();
      await g.getByText('github:gina').first().waitFor();
      const cookie = (await ghContext.cookies()).find((c) => c.name === 'opamp_commander_refresh');
      expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/api/v1/auth/session' });
      // The session survives a reload like a password one.
      await g.reload();
      await g.getByRole('button', { name: 'Sign out' }).waitFor();
    } finally {
      await ghContext.close();
    }
  });

  it('shows a viewer no write buttons', async () => {
    const viewerContext = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const v = await newPage(viewerContext);
    await signIn(v, VIEWER);
    await v.goto(url('/groups'));
    await v.getByRole('link', { name: 'checkout', exact: true }).waitFor();
    await v.goto(url('/configs'));
    await v.getByRole('link', { name: 'checkout-base' }).waitFor();
    await check(v, '08-viewer-configs-phone');
    expect(await v.getByRole('link', { name: /^New / }).count()).toBe(0);
    await v.getByRole('link', { name: 'checkout-base' }).click();
    await v.getByText(/^Revision \d+, hash/).waitFor();
    expect(await v.getByRole('button', { name: /Save|Create/ }).count()).toBe(0);
    await v.goto(url('/groups/checkout'));
    await v.getByTestId('group-status').waitFor();
    expect(await v.getByRole('button', { name: /Save|Create/ }).count()).toBe(0);
    await v.goto(url('/groups/new'));
    await v.waitForURL(/\/groups$/);
    expect(await v.getByRole('link', { name: /^New / }).count()).toBe(0);
    // No admin pages in the navigation, no label editing or restart on an agent page.
    expect(await v.getByRole('link', { name: 'Enrollment tokens' }).count()).toBe(0);
    await v.goto(url(`/agents/${uid}`));
    await v.getByTestId('connection-state').waitFor();
    expect(await v.getByRole('button', { name: /Set label|Restart|Roll back/ }).count()).toBe(0);
    await v.goto(url('/rollouts/checkout-otlp-http'));
    await v.getByTestId('rollout-phase').waitFor();
    expect(await v.getByRole('group', { name: 'Rollout actions' }).count()).toBe(0);
    await v.goto(url('/rollouts'));
    await v.getByRole('table', { name: 'Rollouts' }).waitFor();
    expect(await v.getByRole('link', { name: 'New rollout' }).count()).toBe(0);
    // Packages: the catalogue and the fleet view, but no upload form and no delete.
    await v.goto(url('/packages'));
    await v.getByTestId('versions-otelcol').filter({ hasText: /^2$/ }).waitFor();
    await check(v, '24-viewer-packages-phone');
    expect(await v.getByRole('form', { name: /^Upload/ }).count()).toBe(0);
    await v.goto(url('/packages/otelcol'));
    await v.getByTestId('fleet-package-summary').waitFor();
    expect(await v.getByRole('button', { name: /Delete|Upload/ }).count()).toBe(0);
    await v.goto(url('/groups/edge'));
    await v.getByText('Packages: otelcol 1.0.0 (forced)').waitFor();
    expect(await v.getByRole('button', { name: /Add package|Save/ }).count()).toBe(0);
    await viewerContext.close();
  });

  it('has no serious or critical axe-core violation on any page, no CSP violation and no script error', () => {
    expect(Object.keys(a11y).length).toBeGreaterThanOrEqual(15);
    expect(Object.fromEntries(Object.entries(a11y).filter(([, v]) => v.length))).toEqual({});
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
