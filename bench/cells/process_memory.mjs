// Peak resident memory (VmHWM) of the browser process that hosted a page and its workers: the
// largest among the descendants of rootPid whose command line marks them as page processes
// (Chromium's renderers, Firefox's tab content processes). Linux /proc only.
import { readdirSync, readFileSync } from 'node:fs';

function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;  // gone meanwhile
  }
}

function descendants(rootPid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const ppid = parentOf(name);
    if (ppid !== null) children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out = [];
  const queue = [rootPid];
  while (queue.length) {
    for (const child of children.get(queue.shift()) ?? []) { out.push(child); queue.push(child); }
  }
  return out;
}

// On the joined command line: Chromium rewrites a zygote child's as one space-separated string.
const PAGE_PROCESS = {
  chromium: (cmd) => cmd.includes('--type=renderer') && !cmd.includes('--top-chrome-webui'),
  firefox: (cmd) => cmd.includes('-contentproc') && / tab$/.test(cmd),
};

/** {memoryMb, memoryNote}; memoryMb is null when no page process was found. */
export function pageProcessPeakMb(rootPid, browser) {
  let peakKb = 0, count = 0;
  for (const pid of descendants(rootPid)) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      if (!PAGE_PROCESS[browser](cmd)) continue;
      const hwm = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m);
      if (hwm) { peakKb = Math.max(peakKb, Number(hwm[1])); ++count; }
    } catch { /* exited meanwhile */ }
  }
  if (!count) return { memoryMb: null, memoryNote: `no ${browser} page process found to measure` };
  return { memoryMb: peakKb / 1024, memoryNote: `peak RSS (VmHWM) of the ${browser} ${browser === 'chromium' ? 'renderer' : 'tab content'} process that ran the page and its worker (largest of ${count})` };
}
