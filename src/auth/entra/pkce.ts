// RFC 7636: the verifier presented at the token endpoint must match the challenge given at /authorize.
import { createHash, timingSafeEqual } from 'node:crypto';

export function pkceMatches(challenge: string, method: 'S256' | 'plain', verifier: string): boolean {
  const expected = method === 'S256' ? createHash('sha256').update(verifier).digest('base64url') : verifier;
  const a = Buffer.from(expected);
  const b = Buffer.from(challenge);
  return a.length === b.length && timingSafeEqual(a, b);
}
