// A test-runner command that asks Chromium itself, over the DevTools protocol, what the test page
// has stored: every cookie in the browser (HttpOnly ones too, which document.cookie cannot see)
// and the origin's storage by type (IndexedDB, Cache Storage, service workers, file systems...).
// It is the browser's own account, independent of the element and of the page's JavaScript.

/** Test-runner plugin: `executeServerCommand('browser-storage')` in a test. */
export function browserStorage() {
  return {
    name: 'browser-storage',
    async executeCommand({ command, session }) {
      if (command !== 'browser-storage') return undefined;
      const page = session.browser.getPage(session.id);
      const cdp = await page.createCDPSession();
      try {
        const origin = new URL(page.url()).origin;
        const { cookies } = await cdp.send('Storage.getCookies');
        const { usageBreakdown } = await cdp.send('Storage.getUsageAndQuota', { origin });
        return { origin, cookies, usage: Object.fromEntries(usageBreakdown.map((u) => [u.storageType, u.usage])) };
      } finally {
        await cdp.detach();
      }
    },
  };
}
