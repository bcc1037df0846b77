// Firefox ESR and WebKitGTK's MiniBrowser for the cross-engine acceptance tests. Neither is
// automated: each is opened at page URLs, with a fresh profile, and driven only through the
// Markdown files, as Daebug is meant to be used.
//
//   launchFirefox(urls)   firefox-esr --headless, fresh profile (no first-run pages, no updates)
//   launchWebKit(urls)    MiniBrowser --private under xvfb-run, fresh HOME/XDG directories
//
// Both return { name, close() }; close() ends the whole process group and removes the profile.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers/daebug.mjs';

export const FIREFOX = process.env.FIREFOX_PATH || '/usr/bin/firefox-esr';
export const MINIBROWSER = process.env.MINIBROWSER_PATH || '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';
export const XVFB_RUN = '/usr/bin/xvfb-run';

const FIREFOX_PREFS = {
  'browser.shell.checkDefaultBrowser': false,
  'browser.startup.homepage_override.mstone': 'ignore',
  'browser.aboutwelcome.enabled': false,
  'browser.tabs.warnOnClose': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.reportingpolicy.firstRun': false,
  'app.update.auto': false,
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'extensions.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'browser.safebrowsing.malware.enabled': false,
  'browser.safebrowsing.phishing.enabled': false,
  'browser.newtabpage.enabled': false,
  'dom.disable_open_during_load': false,
  // Background tabs keep their timers at full speed, as with Chromium's flags in the helpers.
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
};

function need(file, what) {
  if (!fs.existsSync(file)) {
    throw new Error(`${what} not found at ${file}: run .ci/setup.d/30-browsers.sh (apt-get install firefox-esr libwebkit2gtk-4.1-0 xvfb)`);
  }
}

function launched(name, child, dir) {
  const output = [];
  child.stdout?.on('data', (d) => output.push(String(d)));
  child.stderr?.on('data', (d) => output.push(String(d)));
  let exited = false;
  child.on('exit', () => { exited = true; });
  return {
    name,
    output: () => output.join('').slice(-4000),
    async close() {
      if (!exited) {
        try { process.kill(-child.pid, 'SIGTERM'); } catch (_) { /* gone */ }
        const deadline = Date.now() + 5000;
        while (!exited && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        if (!exited) { try { process.kill(-child.pid, 'SIGKILL'); } catch (_) { /* gone */ } }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Firefox ESR, headless, in a fresh profile, with one tab per URL. */
export function launchFirefox(urls) {
  need(FIREFOX, 'Firefox ESR');
  const dir = tempDir('daebug-firefox-');
  const profile = path.join(dir, 'profile');
  fs.mkdirSync(profile);
  fs.writeFileSync(path.join(profile, 'user.js'),
    Object.entries(FIREFOX_PREFS).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n') + '\n');
  const child = spawn(FIREFOX, ['--headless', '--no-remote', '--new-instance', '--profile', profile, ...urls], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, HOME: dir, MOZ_CRASHREPORTER_DISABLE: '1' },
  });
  return launched('Firefox ESR', child, dir);
}

/** WebKitGTK's MiniBrowser under a virtual X server, private browsing, fresh home. */
export function launchWebKit(urls) {
  need(MINIBROWSER, 'WebKitGTK MiniBrowser');
  need(XVFB_RUN, 'xvfb-run');
  const dir = tempDir('daebug-webkit-');
  const env = { ...process.env, HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_CACHE_HOME: path.join(dir, 'cache'),
    XDG_DATA_HOME: path.join(dir, 'data'), WEBKIT_DISABLE_COMPOSITING_MODE: '1', LIBGL_ALWAYS_SOFTWARE: '1' };
  const child = spawn(XVFB_RUN, ['-a', '-s', '-screen 0 1280x1024x24', MINIBROWSER, '--private', ...urls], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  return launched('WebKitGTK MiniBrowser', child, dir);
}
