/** Only same-site paths are valid targets after sign-in (no `//host`, no `/\host`, no scheme). */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.includes('\\') || /[\0-\x1f\x7f]/.test(next)) {
    return '/';
  }
  // The target goes into a Location header, which carries ASCII only: anything else is percent-encoded (so
  // `/／host` stays one path segment, never a second slash); a lone surrogate cannot be encoded and gives `/`.
  try {
    return next.replace(/[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
  } catch {
    return '/';
  }
}
