// Encryption at rest for private keys held in the database (SigningKey.privateJwk).
//
// AES-256-GCM with a 256-bit key derived from AUTH_SECRET by HKDF-SHA-256 (a fixed salt and a
// purpose label, so the same secret yields unrelated keys for unrelated uses). Each value has a
// random 96-bit IV and is bound to its row by additional authenticated data (the key id): a
// ciphertext copied onto another row does not decrypt.
//
// Stored form: "v1." + base64url(iv ‖ ciphertext ‖ tag).
//
// INVARIANT: rotating AUTH_SECRET makes every stored private key unreadable. After changing it,
// run `npm run gatehouse -- keys rotate --secret-changed` once: a new signing key is created under
// the new secret and activated immediately; the old keys stay published (public parts are stored
// in clear) until tokens they signed have expired.
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from "node:crypto";

const VERSION = "v1.";
const SALT = "gatehouse";
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretBoxError extends Error {}

export class SecretBox {
  readonly #key: Buffer;

  /** `purpose` separates keys derived from one secret for different uses. */
  constructor(secret: string, purpose: string) {
    if (secret.length < 32) throw new SecretBoxError("AUTH_SECRET must be at least 32 characters");
    this.#key = Buffer.from(hkdfSync("sha256", secret, SALT, `gatehouse/${purpose}/v1`, 32));
  }

  seal(plaintext: string, aad: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv("aes-256-gcm", this.#key, iv);
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return VERSION + Buffer.concat([iv, body, cipher.getAuthTag()]).toString("base64url");
  }

  /** Throws SecretBoxError when the value was sealed under another secret, for another aad, or altered. */
  open(sealed: string, aad: string): string {
    if (!sealed.startsWith(VERSION)) throw new SecretBoxError("unknown sealed-value format");
    const raw = Buffer.from(sealed.slice(VERSION.length), "base64url");
    if (raw.length < IV_BYTES + TAG_BYTES) throw new SecretBoxError("sealed value is truncated");
    const decipher = createDecipheriv("aes-256-gcm", this.#key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString("utf8");
    } catch {
      throw new SecretBoxError("cannot decrypt: wrong AUTH_SECRET, or the value was altered");
    }
  }
}
