// Which listen addresses and Host names stay on this machine. `serve` refuses to listen beyond
// them without a key, and the server always answers to these names.

/** Host names (as in a Host header, IPv6 bracketed) that always mean this machine. */
export const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'] as const;

/** Whether a listen address or host name is reachable only from this machine. */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return name === 'localhost' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}
