// Set by scripts/build.mjs from package.json; 'dev' when running from source (tests).
declare const HVAGENT_VERSION: string;

export const VERSION: string = typeof HVAGENT_VERSION === 'string' ? HVAGENT_VERSION : 'dev';
