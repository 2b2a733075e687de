import { Config } from '@ferry/core';

/**
 * Worker options of the REST listeners, REST authentication, config
 * providers and opt-in plugins (Kafka Connect's names where they exist).
 * Spread into the worker's one declaration (docs, defaults, checks).
 */
export const securityOptions = {
  listeners: Config.list({
    doc: 'REST listeners, Kafka Connect style: comma-separated http://host:port and https://host:port (port 0 picks a free one). Empty: http on rest.host.name:rest.port.',
    default: [],
  }),
  'listeners.https.ssl.keystore.type': Config.enum(['PEM', 'PKCS12'] as const, {
    doc: 'Format of listeners.https.ssl.keystore.location: PEM (private key and certificate chain in one file) or PKCS12. JKS is not read.',
    default: 'PEM',
    ignoreCase: true,
  }),
  'listeners.https.ssl.keystore.location': Config.string({
    doc: 'HTTPS listeners: file holding the private key and the certificate chain (PEM, or PKCS12 per listeners.https.ssl.keystore.type).',
    optional: true,
  }),
  'listeners.https.ssl.keystore.password': Config.password({ doc: 'HTTPS listeners: password of a PKCS12 keystore.', optional: true }),
  'listeners.https.ssl.key.password': Config.password({ doc: 'HTTPS listeners: passphrase of an encrypted PEM private key.', optional: true }),
  'listeners.https.ssl.keystore.key': Config.password({
    doc: 'HTTPS listeners: the private key as PEM text (instead of listeners.https.ssl.keystore.location).',
    optional: true,
  }),
  'listeners.https.ssl.keystore.certificate.chain': Config.string({
    doc: 'HTTPS listeners: the certificate chain as PEM text (with listeners.https.ssl.keystore.key).',
    optional: true,
  }),
  'listeners.https.ssl.truststore.location': Config.string({
    doc: 'HTTPS listeners: PEM file of the CA certificates client certificates are checked against (with listeners.https.ssl.client.auth).',
    optional: true,
  }),
  'listeners.https.ssl.client.auth': Config.enum(['none', 'requested', 'required'] as const, {
    doc: 'HTTPS listeners: ask for (requested) or require (required) a client certificate signed by the truststore.',
    default: 'none',
    ignoreCase: true,
  }),
  'rest.auth.credentials.file': Config.string({
    doc: 'HTTP Basic users, one a line: `user: password[,role]`; the password in clear, as sha256:<hex>, or as scrypt:... (connect-worker hash-password); role admin or read-only (default read-only).',
    optional: true,
  }),
  'rest.auth.tokens.file': Config.string({
    doc: 'Bearer tokens, one a line: `label: token[,role]`, same secret and role forms as rest.auth.credentials.file.',
    optional: true,
  }),
  'rest.auth.required': Config.enum(['auto', 'true', 'false'] as const, {
    doc: 'true: refuse to start without rest.auth.credentials.file or rest.auth.tokens.file. auto: required when a listener binds a non-loopback address. false: never required.',
    default: 'auto',
    ignoreCase: true,
  }),
  'rest.auth.unauthenticated.paths': Config.list({
    doc: 'GET paths served without authentication when it is on: any of /, /health, /metrics, /ui (the web console\'s static files, which hold no data: its sign-in form then asks for credentials).',
    default: [],
  }),
  'rest.allowed.host.names': Config.list({
    doc: 'Host header names accepted besides rest.advertised.host.name and the bound names (DNS-rebinding protection; other names get 421). "*" turns the check off.',
    default: [],
  }),
  'access.control.allow.origin': Config.string({
    doc: 'Origins allowed to call the REST API from a browser (comma-separated, or *). Empty: no cross-origin access, and cross-origin writes are refused.',
    default: '',
  }),
  'access.control.allow.methods': Config.string({
    doc: 'Methods allowed cross-origin (with access.control.allow.origin). Empty: GET, POST, HEAD.',
    default: '',
  }),
  'config.providers': Config.list({
    doc: 'Config providers connectors may use (e.g. file,env,directory); none by default. Each needs config.providers.<name>.class (FileConfigProvider, EnvVarConfigProvider, DirectoryConfigProvider or their org.apache.kafka.common.config.provider names), and config.providers.<name>.param.allowed.paths (file, directory) or config.providers.<name>.param.allowlist.pattern (env).',
    default: [],
  }),
  'plugins.filestream.enable': Config.bool({
    doc: 'Load FileStreamSource and FileStreamSink (they read and write any file the worker can; for demos and tests). Naming them in plugin.path enables them too.',
    default: false,
  }),
};

const UNAUTHENTICATED = new Set(['/', '/health', '/metrics', '/ui']);

/** Cross-option checks of the security options (the worker refuses to start on an error). */
export function checkSecurityOptions(s: { 'rest.auth.unauthenticated.paths': string[] }): void {
  for (const p of s['rest.auth.unauthenticated.paths']) {
    if (!UNAUTHENTICATED.has(p)) throw new Error(`rest.auth.unauthenticated.paths: ${p} cannot be served without authentication (only /, /health, /metrics, /ui)`);
  }
}
