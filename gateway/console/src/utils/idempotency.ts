/**
 * A fresh `Idempotency-Key`. `crypto.randomUUID` exists only in secure contexts (https or
 * localhost); a console opened over plain http on the hospital LAN gets a v4 UUID built from
 * `crypto.getRandomValues`, which every browser offers.
 */
export function newIdempotencyKey(): string {
  if (typeof crypto.randomUUID === 'function') {
    try {
      return crypto.randomUUID()
    } catch {
      // not a secure context: fall through
    }
  }
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  bytes[6] = (bytes[6]! & 0x0f) | 0x40
  bytes[8] = (bytes[8]! & 0x3f) | 0x80
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * One key per intent: the same intent (e.g. `pay:visit:12:order:3:cash`) keeps its key across
 * retries (a lost answer, a timeout) until it succeeds or is refused for good; then `done` forgets it.
 */
export class IntentKeys {
  private readonly keys = new Map<string, string>()

  for(intent: string): string {
    let key = this.keys.get(intent)
    if (!key) {
      key = newIdempotencyKey()
      this.keys.set(intent, key)
    }
    return key
  }

  done(intent: string): void {
    this.keys.delete(intent)
  }
}
