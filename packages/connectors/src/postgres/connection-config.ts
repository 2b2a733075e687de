/**
 * The `connection.*` options of the PostgreSQL connectors and the checks that
 * need no driver: the plugin declarations import these without loading pg.
 */
import { Config } from '@ferry/core';

export const connectionFields = {
  'connection.url': Config.string({
    doc:
      'PostgreSQL connection URL, e.g. postgres://user:secret@db:5432/app?sslmode=require. ' +
      'A JDBC URL (jdbc:postgresql://host:5432/db) is accepted too.',
    importance: 'HIGH',
    group: 'Connection',
    nonEmpty: true,
    example: 'postgres://postgres@127.0.0.1:5432/app',
  }),
  'connection.user': Config.string({
    doc: 'User name; overrides the one in connection.url.',
    optional: true,
    importance: 'HIGH',
    group: 'Connection',
  }),
  'connection.password': Config.password({
    doc: 'Password; overrides the one in connection.url.',
    optional: true,
    importance: 'HIGH',
    group: 'Connection',
  }),
};

export interface ConnectionOptions {
  'connection.url': string;
  'connection.user'?: string | undefined;
  'connection.password'?: string | undefined;
}

/** Checks that `connection.url` parses; returns an error message or undefined. */
export function urlProblem(url: string): string | undefined {
  try {
    const u = new URL(normalizeUrl(url));
    if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') {
      return `Invalid value for connection.url: expected a postgres:// or postgresql:// URL, got protocol "${u.protocol}"`;
    }
    return undefined;
  } catch {
    return `Invalid value for connection.url: "${redactUrl(url)}" is not a URL`;
  }
}

export function normalizeUrl(url: string): string {
  const t = url.trim();
  return t.startsWith('jdbc:') ? t.slice('jdbc:'.length) : t;
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(normalizeUrl(url));
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/:[^:@/]*@/, ':***@');
  }
}

