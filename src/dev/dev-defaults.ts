/** Ports of the embedded stack (`memloom dev`, `npm run demo`). */
export const DEV_DEFAULTS = { ip: '127.0.0.1', port: 7233, uiPort: 8233, pgPort: 55432 } as const;
