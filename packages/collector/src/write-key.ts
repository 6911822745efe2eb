/**
 * Segment clients send the write key as the HTTP Basic username with an empty password; browser beacons,
 * which cannot set headers, send it as `writeKey` in the body. Basic wins when both are present.
 */
export function writeKeyFrom(authorization: string | undefined, body: unknown): string | undefined {
  if (authorization !== undefined && authorization.slice(0, 6).toLowerCase() === 'basic ') {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const user = colon === -1 ? decoded : decoded.slice(0, colon);
    if (user.length > 0) return user;
  }
  if (typeof body === 'object' && body !== null && 'writeKey' in body) {
    const key = (body as { writeKey: unknown }).writeKey;
    if (typeof key === 'string') return key;
  }
  return undefined;
}
