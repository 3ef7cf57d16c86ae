// The crypto the app trusts updates with: the release public key built into the app (ECDSA P-256,
// SHA-256; the bundle-signing key) and SHA-256 in hex. Model bundles and release manifests are
// both verified here, with WebCrypto.

declare const __FETAL_PUBKEY_SPKI__: string; // base64 DER SubjectPublicKeyInfo, '' if none

export function hasPublicKey(): boolean {
  return __FETAL_PUBKEY_SPKI__.length > 0;
}

export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64.trim());
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  return hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)));
}

let publicKey: Promise<CryptoKey> | null = null;
function importPublicKey(): Promise<CryptoKey> {
  publicKey ??= crypto.subtle.importKey(
    'spki',
    base64ToBytes(__FETAL_PUBKEY_SPKI__),
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['verify'],
  );
  return publicKey;
}

// Whether `signature` (base64 of the 64-byte r‖s) verifies over `bytes` with the built-in key;
// false for a malformed signature too.
export async function verifySignature(signature: string, bytes: Uint8Array<ArrayBuffer>): Promise<boolean> {
  try {
    return await crypto.subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, await importPublicKey(), base64ToBytes(signature), bytes);
  } catch {
    return false;
  }
}
