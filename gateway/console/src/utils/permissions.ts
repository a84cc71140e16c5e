// Permission strings are `<svc>:<resource>:<action>`. `*` grants everything; a held
// permission ending in `:*` (`dbs:*`, `dbs:department:*`) grants everything below it.

export function grants(held: string, needed: string): boolean {
  if (held === '*' || held === needed) return true
  if (held.endsWith(':*')) return needed.startsWith(held.slice(0, -1))
  return false
}

export function hasPermission(held: readonly string[], needed: string): boolean {
  return held.some((p) => grants(p, needed))
}

/** Whether the user holds anything in module `key` (`dbs:…`), or `*`. */
export function hasModule(held: readonly string[], key: string): boolean {
  return held.some((p) => p === '*' || p.startsWith(`${key}:`))
}
