/** Ports of the embedded stack (`memloom dev`, `npm run demo`); `demoModelPort` serves the demo's scripted model. */
export const DEV_DEFAULTS = { ip: '127.0.0.1', port: 7233, uiPort: 8233, pgPort: 55432, demoModelPort: 55433 } as const;
