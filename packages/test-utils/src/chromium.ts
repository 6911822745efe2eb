import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium: the tests never download a browser of their own (this machine has no internet). */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** A `skip` reason for node:test when Chromium is not installed, or false. */
export function chromiumMissing(what: string): string | false {
  return existsSync(CHROMIUM_PATH)
    ? false
    : `${CHROMIUM_PATH} not found: install Debian's chromium (apt-get install -y chromium) to run ${what}`;
}

/**
 * Headless Chromium as this machine needs it: running as root needs --no-sandbox, and without the
 * background-networking flags Chromium keeps dialling Google's hosts, which the closed network refuses.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
