// How a child process ended, as a line for the terminal and the exit code to pass on.
import { constants } from 'node:os';

/**
 * @param {string} what the process's name ("worker")
 * @param {number | null} code exit code (null when a signal ended it)
 * @param {NodeJS.Signals | null} signal the signal that ended it
 * @param {boolean} requested true when we asked it to stop (SIGTERM from Ctrl-C)
 * @returns {{ message: string, exitCode: number, crashed: boolean }}
 */
export function describeExit(what, code, signal, requested) {
  if (signal) {
    const exitCode = 128 + (constants.signals[signal] ?? 0);
    if (requested && (signal === 'SIGTERM' || signal === 'SIGINT')) return { message: `${what} stopped (${signal})`, exitCode: 0, crashed: false };
    return { message: `${what} crashed: killed by signal ${signal}`, exitCode, crashed: true };
  }
  if (code === 0) return { message: `${what} exited (0)`, exitCode: 0, crashed: false };
  return { message: `${what} crashed: exit code ${code}`, exitCode: code ?? 1, crashed: true };
}
