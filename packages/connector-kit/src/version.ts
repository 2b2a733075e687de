/** The version of the bundled plugins and the runtime: one place (a test keeps every package.json equal to it). */
export const FERRY_VERSION = '0.1.0';
