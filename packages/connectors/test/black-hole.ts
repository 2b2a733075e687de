import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';

/**
 * An address whose TCP handshake never completes: a listener with a backlog
 * of one in a stopped process, its accept queue filled, so the kernel drops
 * every further SYN (as a firewall that drops packets would). Unlike a
 * listener that accepts and stays silent, this tests connect deadlines.
 */
export async function blackHole(): Promise<{ port: number; close(): void }> {
  const child = spawn(
    process.execPath,
    ['-e', "const s=require('node:net').createServer().listen({port:0,host:'127.0.0.1',backlog:1},()=>console.log(s.address().port))"],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(Number(out.trim()));
    });
    child.once('exit', (code) => reject(new Error(`black-hole listener exited (${code})`)));
  });
  child.kill('SIGSTOP');
  // Fill the accept queue; the connects beyond it stay in SYN_SENT, so keep going until one hangs.
  const fillers: Socket[] = [];
  for (let i = 0; i < 16; i++) {
    const s = connect({ port, host: '127.0.0.1' });
    s.on('error', () => undefined);
    fillers.push(s);
    const connected = await new Promise<boolean>((r) => {
      const t = setTimeout(() => r(false), 300);
      s.once('connect', () => {
        clearTimeout(t);
        r(true);
      });
    });
    if (!connected) break;
  }
  return {
    port,
    close() {
      for (const s of fillers) s.destroy();
      child.kill('SIGKILL');
    },
  };
}
