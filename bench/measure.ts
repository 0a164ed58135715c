/**
 * Measuring a stretch of bench work: wall-clock seconds, CPU seconds, and the machine's load beside them.
 *
 * CPU time is split by where it was spent: this process's main thread, its other threads (detector
 * workers, and V8's and libuv's helper threads: garbage collection, compilation), and its child processes that have
 * ended (ffmpeg). Wall-clock rates on a shared machine measure the other tenants as much as Veil; CPU seconds per
 * frame hardly move with the load, so they say where a pipeline's time goes even when its rate cannot be trusted.
 *
 * Read from /proc (Linux): /proc/self/task/<pid>/stat for the main thread, /proc/self/stat for children (proc(5):
 * utime, stime, cutime and cstime in clock ticks of 1/100 s, USER_HZ). Elsewhere only the process total is known
 * (`process.cpuUsage()`), and the split fields are undefined.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** proc(5) reports times in USER_HZ ticks, 100 a second on every Linux ABI Node runs on. */
const TICKS_PER_SECOND = 100;

export interface CpuTime {
  /** Every thread of this process, in seconds. */
  process: number;
  /** The main thread alone (decoding, the frame chain, tracking, release), in seconds; undefined off Linux. */
  mainThread?: number;
  /** Child processes that have ended and been waited for (ffmpeg), in seconds; undefined off Linux. */
  children?: number;
}

/** The fields of a /proc stat line after the command name (which may hold spaces), numbered from 1 as in proc(5). */
function statFields(file: string): string[] | undefined {
  let line: string;
  try {
    line = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  // Field 3 (state) starts after the ") " that closes field 2; index 0 below is field 3.
  return line.slice(line.lastIndexOf(')') + 2).split(' ');
}

/** Fields 14 + 15 (utime, stime) or 16 + 17 (cutime, cstime) of a stat line, in seconds. */
function ticksToSeconds(fields: string[] | undefined, first: number): number | undefined {
  if (!fields) return undefined;
  return (Number(fields[first - 3]) + Number(fields[first - 2])) / TICKS_PER_SECOND;
}

/** CPU seconds used so far; subtract two readings (`cpuSince`) for a stretch of work. */
export function cpuTime(): CpuTime {
  const usage = process.cpuUsage();
  return {
    process: (usage.user + usage.system) / 1e6,
    mainThread: ticksToSeconds(statFields(`/proc/self/task/${process.pid}/stat`), 14),
    children: ticksToSeconds(statFields('/proc/self/stat'), 16),
  };
}

/** CPU seconds since `start`, by the same split. */
export function cpuSince(start: CpuTime): CpuTime {
  const now = cpuTime();
  const since = (later: number | undefined, earlier: number | undefined) => (later === undefined || earlier === undefined ? undefined : later - earlier);
  return { process: now.process - start.process, mainThread: since(now.mainThread, start.mainThread), children: since(now.children, start.children) };
}

/** Process and children together: everything the work cost, ffmpeg included where it is known. */
export function totalSeconds(cpu: CpuTime): number {
  return cpu.process + (cpu.children ?? 0);
}

/** One stretch of work: how many frames, how long on the wall clock, how much CPU. */
export interface Measured {
  frames: number;
  seconds: number;
  perSecond: number;
  cpu: CpuTime;
}

/** Runs `work` (which returns the frames it processed) and measures it. */
export async function measure(work: () => Promise<number>): Promise<Measured> {
  const cpuStart = cpuTime();
  const startedNs = process.hrtime.bigint();
  const frames = await work();
  const seconds = Number(process.hrtime.bigint() - startedNs) / 1e9;
  return { frames, seconds, perSecond: frames / seconds, cpu: cpuSince(cpuStart) };
}

export function median(numbers: number[]): number {
  const sorted = [...numbers].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** The machine's load averages over 1, 5 and 15 minutes, as `uptime` prints them. */
export function loadAverage(): string {
  return `load average ${os.loadavg().map((load) => load.toFixed(2)).join(', ')}`;
}

/** CPU milliseconds per frame of a measured stretch, split as `CpuTime` is: "total (main …, other threads …, ffmpeg …)". */
export function cpuPerFrame({ cpu, frames }: Measured): string {
  const ms = (seconds: number | undefined) => (seconds === undefined ? '?' : ((seconds / frames) * 1000).toFixed(1));
  const otherThreads = cpu.mainThread === undefined ? undefined : cpu.process - cpu.mainThread;
  return `${ms(totalSeconds(cpu))} ms (main thread ${ms(cpu.mainThread)}, other threads ${ms(otherThreads)}, ffmpeg ${ms(cpu.children)})`;
}
