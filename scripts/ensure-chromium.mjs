#!/usr/bin/env node
/**
 * Run first by `npm test`: the browser tests drive Debian's Chromium (playwright-core ships no
 * browser, and none is downloaded). Finds it (CHROMIUM_PATH, else /usr/bin/chromium); when it
 * is missing and we are root, installs it with apt-get; otherwise says in one line how to.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

const path = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

function found() {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function aptGet(...args) {
  console.log(`ensure-chromium: apt-get ${args.join(' ')}`);
  const r = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status === 0;
}

if (!found()) {
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && !process.env.CHROMIUM_PATH) {
    console.log(`ensure-chromium: ${path} not found; installing Debian's chromium for the browser tests`);
    // A fresh machine may have no package lists yet: update, then try once more.
    if (!aptGet('install', '-y', '--no-install-recommends', 'chromium')) {
      if (aptGet('update')) aptGet('install', '-y', '--no-install-recommends', 'chromium');
    }
  }
  if (!found()) {
    console.error(
      `ensure-chromium: no Chromium at ${path}; the browser tests need it: install it (as root: apt-get install -y chromium) or set CHROMIUM_PATH to a Chromium binary`,
    );
    process.exit(1);
  }
}
