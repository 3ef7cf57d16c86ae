// The operations views (the monitoring dashboard, the audit page, the model registry and the
// releases), as a bundle of their own that
// main.ts loads the first time one of them is shown: devices used only by clinicians never
// download or parse them.
export * as dashboard from './dashboard.js';
export * as audit from './audit.js';
export * as registry from './registry.js';
export * as releases from './releases.js';
