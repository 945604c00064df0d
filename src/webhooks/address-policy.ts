import { isIPv4, isIPv6 } from 'node:net';

/**
 * Which addresses a webhook may connect to (server-side request forgery): only public unicast addresses.
 * Refused, with the class the delivery log shows: loopback, private (RFC 1918, fc00::/7), link-local
 * (169.254/16, fe80::/10), carrier-grade NAT (100.64/10), cloud metadata (169.254.169.254, fd00:ec2::254,
 * 168.63.129.16), unspecified (0.0.0.0/8, ::), multicast and reserved ranges. An IPv6 address that embeds an
 * IPv4 address (mapped ::ffff:a.b.c.d, compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16) is judged by the
 * IPv4 address inside it.
 */
export type RefusedAddressClass = 'loopback' | 'private' | 'link_local' | 'cgnat' | 'metadata' | 'unspecified' | 'multicast' | 'reserved';

const METADATA_V4 = new Set(['169.254.169.254', '168.63.129.16', '100.100.100.200']);

/** The class of a refused address, or null when a webhook may connect to it. Not an address at all: 'reserved'. */
export function refusedAddressClass(address: string): RefusedAddressClass | null {
  const plain = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  if (isIPv4(plain)) return refusedV4(plain.split('.').map(Number) as [number, number, number, number]);
  if (isIPv6(plain)) return refusedV6(parseV6(plain));
  return 'reserved';
}

function refusedV4([a, b, c, d]: [number, number, number, number]): RefusedAddressClass | null {
  if (METADATA_V4.has(`${a}.${b}.${c}.${d}`)) return 'metadata';
  if (a === 0) return 'unspecified';
  if (a === 127) return 'loopback';
  if (a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168)) return 'private';
  if (a === 169 && b === 254) return 'link_local';
  if (a === 100 && b >= 64 && b <= 127) return 'cgnat';
  if (a >= 224 && a <= 239) return 'multicast';
  if (a >= 240) return 'reserved';
  // IETF protocol assignments, documentation ranges and benchmarking
  if ((a === 192 && b === 0 && (c === 0 || c === 2)) || (a === 198 && (b === 18 || b === 19)) || (a === 198 && b === 51 && c === 100) || (a === 203 && b === 0 && c === 113)) {
    return 'reserved';
  }
  return null;
}

function refusedV6(words: number[]): RefusedAddressClass | null {
  const [w0, w1, w2, w3, w4, w5, w6, w7] = words as [number, number, number, number, number, number, number, number];
  const v4At = (hi: number, lo: number): [number, number, number, number] => [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
  const zeroPrefix = w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0;
  if (zeroPrefix && w5 === 0 && w6 === 0 && w7 === 0) return 'unspecified';
  if (zeroPrefix && w5 === 0 && w6 === 0 && w7 === 1) return 'loopback';
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated), 64:ff9b::a.b.c.d (NAT64), ::ffff:0:a.b.c.d (translated)
  if (zeroPrefix && (w5 === 0xffff || w5 === 0)) return refusedV4(v4At(w6, w7)) ?? (w5 === 0 ? 'reserved' : null);
  if (w0 === 0 && w1 === 0 && w2 === 0 && w3 === 0 && w4 === 0xffff && w5 === 0) return refusedV4(v4At(w6, w7));
  if (w0 === 0x64 && w1 === 0xff9b && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0) return refusedV4(v4At(w6, w7)) ?? null;
  if (w0 === 0x2002) return refusedV4(v4At(w1, w2)) ?? null;
  if (w0 === 0xfd00 && w1 === 0x0ec2 && w2 === 0 && w3 === 0 && w4 === 0 && w5 === 0 && w6 === 0 && w7 === 0x254) return 'metadata';
  if ((w0 & 0xfe00) === 0xfc00) return 'private';
  if ((w0 & 0xffc0) === 0xfe80) return 'link_local';
  if ((w0 & 0xffc0) === 0xfec0) return 'private';
  if ((w0 & 0xff00) === 0xff00) return 'multicast';
  if (w0 === 0x2001 && w1 === 0x0db8) return 'reserved';
  // global unicast is 2000::/3; everything else (discard-only 100::/64, unassigned) is not a webhook's
  if ((w0 & 0xe000) !== 0x2000) return 'reserved';
  return null;
}

/** Eight 16-bit words of a valid IPv6 address (isIPv6 checked), a trailing dotted IPv4 part included. */
function parseV6(address: string): number[] {
  let text = address.toLowerCase();
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = text.slice(0, text.length - dotted[1]!.length);
    if (text.endsWith(':') && !text.endsWith('::')) text = text.slice(0, -1);
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, null];
  const words = (part: string) => (part === '' ? [] : part.split(':').map((w) => parseInt(w, 16)));
  const front = words(head ?? '');
  const back = rest === null ? [] : words(rest);
  const missing = 8 - front.length - back.length - tail.length;
  return [...front, ...(rest === null ? [] : new Array<number>(Math.max(0, missing)).fill(0)), ...back, ...tail];
}
