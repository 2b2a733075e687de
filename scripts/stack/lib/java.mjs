// Which java to use: $JAVA_HOME/bin/java when JAVA_HOME is set, else `java` on PATH.
import fs from 'node:fs';
import path from 'node:path';
import { which } from './proc.mjs';

export function javaBin() {
  if (process.env.JAVA_HOME) {
    const p = path.join(process.env.JAVA_HOME, 'bin', 'java');
    if (fs.existsSync(p)) return p;
  }
  const p = which('java');
  if (!p) throw new Error('java not found (set JAVA_HOME or put java on PATH)');
  return p;
}

/** The JDK home behind javaBin() (symlinks resolved). */
export function javaHome() {
  return path.dirname(path.dirname(fs.realpathSync(javaBin())));
}
