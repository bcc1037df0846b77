// Helpers for the agent-interface tests and benchmark: run the `daebug` CLI's agent
// subcommands as a child process and collect what it prints and its exit code.
import { spawn } from 'node:child_process';
import { daebugBin } from '../helpers/daebug.mjs';

/**
 * Run `daebug <args>` (or `cmd` with `args`) and resolve with { code, stdout, stderr, ms }.
 * `input` is written to its standard input.
 */
export function runCli(args, { cwd, input, env = {}, cmd, timeout = 30000 } = {}) {
  const exe = cmd ? cmd[0] : daebugBin();
  const pre = cmd ? cmd.slice(1) : [];
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(exe, [...pre, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`daebug ${args.join(' ')} did not finish in ${timeout}ms\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, timeout);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Number(process.hrtime.bigint() - start) / 1e6 });
    });
    // The command may exit before reading its input (a bad flag, no server): not an error here.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** Median and 90th percentile of a list of numbers. */
export function stats(values) {
  const s = [...values].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
  return { median: at(0.5), p90: at(0.9), n: s.length };
}
