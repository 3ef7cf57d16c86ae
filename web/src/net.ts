// Whether the server answered the last API call (any HTTP status) or could not be reached.
// navigator.onLine only knows about the network interface; a stopped server behind a working
// network is what clinicians need to be told about.
let reachable: boolean | null = null;
const listeners: Array<() => void> = [];

export function serverReachable(): boolean | null {
  return reachable;
}

export function noteServer(answered: boolean): void {
  if (reachable === answered) return;
  reachable = answered;
  for (const fn of listeners) fn();
}

export function onReachabilityChange(fn: () => void): void {
  listeners.push(fn);
}
