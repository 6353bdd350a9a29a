import * as fs from 'node:fs';
import * as os from 'node:os';

const TICK_MS = 10; // USER_HZ is 100 on Linux

export interface MachineInfo {
  hostname: string;
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  kernel: string;
  node: string;
  postgres?: string;
  redis?: string;
  loadAvgAtStart: [number, number, number];
  /** Machine CPU busy (% of one core, so up to cores×100) before the run started anything. */
  backgroundBusyPct?: number;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  const la = os.loadavg();
  return {
    hostname: os.hostname(),
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAvgAtStart: [la[0], la[1], la[2]],
  };
}

/** Jiffies (all, idle) of the whole machine from /proc/stat; undefined off Linux. */
export function machineTicks(): { total: number; idle: number } | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] ?? 0);
    return { total: v.reduce((a, b) => a + b, 0), idle };
  } catch {
    return undefined;
  }
}

/**
 * CPU time the machine spent working (user, nice, system, irq, softirq) and
 * time the hypervisor took away (steal), in ms since boot, from /proc/stat;
 * undefined off Linux. Work done per request stays comparable when a shared
 * host slows the whole machine down, which throughput alone does not.
 */
export function machineCpuMs(): { busy: number; steal: number } | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const [user, nice, system, , , irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return {
      busy: (user + nice + system + irq + softirq) * TICK_MS,
      steal: (steal ?? 0) * TICK_MS,
    };
  } catch {
    return undefined;
  }
}

/** CPU busy of the machine between two readings, in % of one core (0..cores×100). */
export function busyPct(
  a: { total: number; idle: number } | undefined,
  b: { total: number; idle: number } | undefined,
  cores: number,
): number | undefined {
  if (!a || !b || b.total === a.total) return undefined;
  const busy = b.total - a.total - (b.idle - a.idle);
  return (busy / (b.total - a.total)) * 100 * cores;
}

/** utime+stime of a process in ms (/proc/<pid>/stat), undefined when it is gone. */
export function processCpuMs(pid: number): number | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes (/proc/<pid>/status VmRSS). */
export function processRss(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples the RSS of a process every `everyMs` until stopped; peak and mean in bytes. */
export function rssSampler(pid: number, everyMs = 250) {
  const samples: number[] = [];
  const take = () => {
    const v = processRss(pid);
    if (v !== undefined) samples.push(v);
  };
  take();
  const t = setInterval(take, everyMs);
  return {
    stop(): { peak: number; mean: number; last: number; samples: number } {
      clearInterval(t);
      take();
      const peak = Math.max(0, ...samples);
      const mean = samples.length ? samples.reduce((a, b) => a + b, 0) / samples.length : 0;
      return { peak, mean, last: samples[samples.length - 1] ?? 0, samples: samples.length };
    },
  };
}

/** Machine CPU busy over `ms` (nothing of ours running yet: the other engineers' load). */
export async function sampleBackgroundBusy(ms: number, cores: number): Promise<number | undefined> {
  const a = machineTicks();
  await new Promise((r) => setTimeout(r, ms));
  return busyPct(a, machineTicks(), cores);
}
